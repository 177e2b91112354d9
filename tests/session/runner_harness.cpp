#include "runner_harness.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "transport/host_tcp_channel.h"

namespace echelon::session_test {

using transport::Clock;

Digest plugin_digest(const std::string& symbol) {
  return sha256(native_import_descriptor(NativeImportTarget::parse("session_test:" + symbol)));
}

remote::ManifestEntry plugin_entry(const std::string& symbol) {
  remote::ManifestEntry e;
  e.digest = plugin_digest(symbol);
  e.kind = CallableKind::NATIVE_IMPORT;
  e.target = "session_test:" + symbol;
  return e;
}

remote::BootstrapManifest test_manifest(uint32_t num_sub_workers) {
  remote::BootstrapManifest m;
  m.session_id = SESSION_ID;
  m.worker_id = WORKER_ID;
  m.num_sub_workers = num_sub_workers;
  m.heap_ring_bytes = uint64_t{4} << 20;
  m.startup_budget_s = 10;
  m.health_interval_s = 0.05;
  m.health_expiry_s = 1;
  m.shutdown_timeout_s = 5;
  m.remote_task_dispatcher = {plugin_entry("session_check_inline_sum"), plugin_entry("session_always_fail"),
                              plugin_entry("session_sleep_ms")};
  return m;
}

wire::TaskPayload inline_task(const Digest& digest, const std::vector<uint8_t>& bytes, std::vector<uint64_t> scalars) {
  wire::TaskPayload t;
  t.callable_digest = digest;
  if (!bytes.empty()) {
    wire::RemoteTensorDescWire d;
    d.address_space = wire::RemoteAddressSpace::HOST_INLINE;
    d.nbytes = bytes.size();
    d.inline_payload_offset = 0;
    d.inline_payload_len = bytes.size();
    const uint32_t shape[] = {static_cast<uint32_t>(bytes.size())};
    t.args.tensors.push_back(wire::remote_placeholder(d, shape, DataType::UINT8));
    t.args.remote_desc.push_back(d);
    t.args.inline_payload = bytes;
  }
  t.args.scalars = std::move(scalars);
  return t;
}

namespace {

}  // namespace


namespace {

[[noreturn]] void harness_failure(const std::string& what) {
  ADD_FAILURE() << what;
  throw std::runtime_error(what);
}

transport::EndpointAddress loopback(uint16_t port) {
  return transport::parse_endpoint_address("127.0.0.1:" + std::to_string(port));
}

}  // namespace

RunnerSession::RunnerSession(const remote::BootstrapManifest& manifest) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  remote::RunnerLaunch launch;
  launch.bind_ip = "127.0.0.1";
  launch.deadline = deadline;
  launch.plugin_dirs = {ECHELON_SESSION_PLUGIN_DIR};
  runner_ = remote::spawn_runner(ECHELON_SESSION_BINARY, remote::to_json(manifest), launch);
  const auto status = runner_.read_status(deadline);
  const auto* lanes = std::get_if<remote::LaneAddresses>(&status.outcome);
  if (!lanes) harness_failure("runner reported failure: " + std::get<remote::ReplyError>(status.outcome).text());

  command_ = transport::HostTcpChannel::connect(loopback(lanes->command_port), deadline);
  const auto hello_frame = command_->receive(deadline);
  children_at_hello_ = live_children(runner_.pid());
  const auto typed = wire::decode_typed_frame(hello_frame.bytes);
  hello_header_ = typed.header;
  const auto* hello = std::get_if<wire::HelloPayload>(&typed.payload);
  if (!hello) harness_failure("first command-lane frame is not HELLO");
  hello_ = *hello;

  health_ = transport::HostTcpChannel::connect(loopback(lanes->health_port), deadline);
  const auto first_health = health_->receive(deadline);
  if (first_health.header.type != wire::FrameType::HEALTH || first_health.header.sequence != 1)
    harness_failure("first health-lane frame is not HEALTH 1");
}

RunnerSession::~RunnerSession() {
  close_lanes();
  runner_.terminate(std::chrono::seconds(2));  // no-op once reaped; otherwise no runner survives the test
}

uint64_t RunnerSession::send_task(const wire::TaskPayload& task) {
  const uint64_t seq = next_sequence();
  wire::FrameHeader h;
  h.type = wire::FrameType::TASK;
  h.session_id = SESSION_ID;
  h.worker_id = WORKER_ID;
  h.sequence = seq;
  command_->send(wire::encode_typed_frame({h, task}), Clock::now() + std::chrono::seconds(2));
  return seq;
}

wire::CompletionPayload RunnerSession::await_completion(uint64_t sequence, std::chrono::milliseconds timeout) {
  const auto frame = command_->receive(Clock::now() + timeout);
  return wire::decode_completion(wire::decode_frame(frame.bytes), sequence);
}

wire::CompletionPayload RunnerSession::run_task(const wire::TaskPayload& task, std::chrono::milliseconds timeout) {
  return await_completion(send_task(task), timeout);
}

void RunnerSession::send_raw(std::vector<uint8_t> frame) {
  command_->send(std::move(frame), Clock::now() + std::chrono::seconds(2));
}

void RunnerSession::send_shutdown() {
  const wire::FrameRoute route{SESSION_ID, WORKER_ID, next_sequence(), 0};
  send_raw(wire::encode_frame(wire::FrameType::SHUTDOWN, route, {}));
}

void RunnerSession::close_lanes() {
  if (command_) command_->close();
  if (health_) health_->close();
}

std::vector<transport::InboundFrame> RunnerSession::drain_health() {
  std::vector<transport::InboundFrame> frames;
  while (auto f = health_->poll()) frames.push_back(std::move(*f));
  return frames;
}

std::optional<std::string> RunnerSession::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string how;
  while (!runner_.exited(&how)) {
    if (Clock::now() >= deadline) return std::nullopt;
    pollfd p{runner_.pidfd(), POLLIN, 0};
    ::poll(&p, 1, transport::poll_timeout_ms(deadline));
  }
  return how;
}

}  // namespace echelon::session_test
