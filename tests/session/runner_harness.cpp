#include "runner_harness.h"

#include "endpoint/remote_register_controls.h"
#include "remote/session_shm_names.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "transport/host_tcp_channel.h"
#include "wire/register_controls.h"

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

uint64_t unique_session_id() {
  static std::atomic<uint64_t> counter{0};
  return SESSION_ID ^ (static_cast<uint64_t>(::getpid()) << 20) ^ (++counter << 48);
}

remote::BootstrapManifest test_manifest(uint32_t num_sub_workers) {
  remote::BootstrapManifest m;
  m.session_id = unique_session_id();
  m.worker_id = WORKER_ID;
  m.num_sub_workers = num_sub_workers;
  m.heap_ring_bytes = uint64_t{4} << 20;
  m.startup_budget_s = 10;
  m.health_interval_s = 0.05;
  m.health_expiry_s = 1;
  m.shutdown_timeout_s = 5;
  m.remote_task_dispatcher = {plugin_entry("session_check_inline_sum"), plugin_entry("session_always_fail"),
                              plugin_entry("session_sleep_ms"), plugin_entry("session_chip_increment"),
                              plugin_entry("session_chip_sum")};
  return m;
}

ChipCallable test_kernel(const std::string& name) {
  return ChipCallable::from_file(std::string(ECHELON_SESSION_KERNEL_DIR) + "/libsession_kernel_" + name + ".so");
}

namespace {

remote::ManifestEntry chip_entry(const ChipCallable& chip) {
  remote::ManifestEntry e;
  e.digest = chip.identity().digest;
  e.kind = CallableKind::CHIP_CALLABLE;
  e.chip_payload = remote_controls::chip_payload(chip);
  return e;
}

}  // namespace

remote::BootstrapManifest chip_manifest() {
  remote::BootstrapManifest m = test_manifest(0);
  m.num_chips = 1;
  m.inner_l3_worker = {chip_entry(test_kernel("inc_u8")), chip_entry(test_kernel("sum_u8"))};
  return m;
}

std::vector<uint64_t> digest_scalars(const Digest& digest) {
  std::vector<uint64_t> words(4);
  for (size_t i = 0; i < 4; ++i) std::memcpy(&words[i], digest.data() + 8 * i, 8);
  return words;
}

wire::RemoteTensorDescWire device_desc(int32_t owner, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                                       uint64_t nbytes) {
  wire::RemoteTensorDescWire d;
  d.address_space = wire::RemoteAddressSpace::REMOTE_DEVICE;
  d.owner_worker_id = owner;
  d.buffer_id = buffer_id;
  d.generation = generation;
  d.offset = offset;
  d.nbytes = nbytes;
  return d;
}

void add_remote_arg(wire::TaskPayload& task, const wire::RemoteTensorDescWire& desc, uint32_t count, DataType dtype) {
  const uint32_t shape[] = {count};
  task.args.tensors.push_back(wire::remote_placeholder(desc, shape, dtype));
  task.args.remote_desc.push_back(desc);
}

std::vector<std::string> shm_objects(const std::string& prefix) {
  std::vector<std::string> names;
  DIR* dir = ::opendir("/dev/shm");
  if (!dir) return names;
  while (const dirent* e = ::readdir(dir))
    if (std::string_view(e->d_name).rfind(prefix, 0) == 0) names.emplace_back(e->d_name);
  ::closedir(dir);
  return names;
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

RunnerSession::RunnerSession(const remote::BootstrapManifest& manifest, const RunnerLaunchOptions& options)
    : session_id_(manifest.session_id) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  remote::RunnerLaunch launch;
  launch.bind_ip = "127.0.0.1";
  launch.deadline = deadline;
  launch.plugin_dirs = options.plugin_dirs;
  launch.extra_env = options.extra_env;
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
  // The harness plays the daemon, so it also does the daemon's sweep of a reaped runner's shared
  // memory and private directory: a runner ended by a signal cannot remove them itself.
  remote::sweep_session_shm(session_id_);
  remote::sweep_session_private_dir(session_id_);
}

uint64_t RunnerSession::send_task(const wire::TaskPayload& task) {
  const uint64_t seq = next_sequence();
  wire::FrameHeader h;
  h.type = wire::FrameType::TASK;
  h.session_id = session_id_;
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

bool RunnerSession::command_lane_readable(std::chrono::milliseconds wait) {
  if (!command_->prepare_wait()) return true;
  pollfd p{command_->wait_fd(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

void RunnerSession::send_raw(std::vector<uint8_t> frame) {
  command_->send(std::move(frame), Clock::now() + std::chrono::seconds(2));
}

uint64_t RunnerSession::send_control(wire::ControlName name, const std::vector<uint8_t>& command, uint32_t version) {
  const uint64_t seq = next_sequence();
  wire::ControlRequest request;
  request.name = name;
  request.version = version;
  request.command = command;
  const wire::FrameRoute route{session_id_, WORKER_ID, seq, 0};
  send_raw(wire::encode_frame(wire::FrameType::CONTROL, route, wire::encode_control(request)));
  return seq;
}

ControlResult RunnerSession::await_control_reply(uint64_t seq, wire::ControlName name, std::chrono::milliseconds timeout,
                                                 uint32_t version) {
  const auto frame = command_->receive(Clock::now() + timeout);
  const auto reply = wire::decode_control_reply(wire::decode_frame(frame.bytes), wire::AwaitedControl{seq, name, version});
  return ControlResult{reply.status(), std::string(reply.error_message),
                       std::vector<uint8_t>(reply.result.begin(), reply.result.end()), seq};
}

ControlResult RunnerSession::run_control(wire::ControlName name, const std::vector<uint8_t>& command,
                                         std::chrono::milliseconds timeout, uint32_t version) {
  return await_control_reply(send_control(name, command, version), name, timeout, version);
}

void RunnerSession::send_shutdown() {
  const wire::FrameRoute route{session_id_, WORKER_ID, next_sequence(), 0};
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
