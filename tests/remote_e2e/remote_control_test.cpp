// Remote controls end to end (protocol.md 8-9, 11-13; buffers.md 3-4): CONTROL frames on the
// command lane of a real runner, ordered with TASKs, bounded by their deadline. Most cases go
// through Worker::control; the ordering and refusal cases drive a RemoteL3Endpoint directly,
// because only there is "submitted before the control" exact (the engine dispatches on its own
// thread) and the endpoint's own events can be read the moment a control returns.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "echelon/errors.h"
#include "echelon/remote_buffer.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"
#include "endpoint/remote_buffer_controls.h"
#include "endpoint/remote_l3_endpoint.h"
#include "endpoint/remote_task_args.h"
#include "open_endpoint.h"
#include "remote_e2e_helpers.h"
#include "wire/register_controls.h"
#include "wire/task_payload.h"

namespace echelon::remote_e2e {
namespace {

namespace rc = remote_controls;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// PREPARE_CALLABLE for a digest nobody registered: read-only, and refused by every runner
// (NOT_FOUND once the register family is served, UNSUPPORTED before), with the runner's
// "[host=... control=PREPARE_CALLABLE seq=<n>]" prefix, so a reply names the sequence it answered.
ControlRequest unregistered_probe() {
  wire::DigestCallableCommand probe;
  probe.digest.fill(0x5a);
  return ControlRequest{"PREPARE_CALLABLE", wire::encode_digest_command(probe)};
}

// The text of the ControlError Worker::control raises; empty when the control succeeded.
std::string control_error(Worker& w, WorkerId id, const ControlRequest& request, double timeout_s = 10) {
  try {
    w.control(id, request, timeout_s);
  } catch (const ControlError& e) {
    return e.what();
  }
  return {};
}

std::vector<std::byte> bytes_1_to_16() {
  std::vector<std::byte> v;
  for (int i = 1; i <= 16; ++i) v.push_back(static_cast<std::byte>(i));
  return v;
}

using RemoteControl = DaemonTest;

TEST_F(RemoteControl, BufferControlsRoundTrip) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  w.init();
  ControlReply reply;
  try {
    reply = w.control(id, rc::alloc(16), 10.0);
  } catch (const ControlError& e) {
    // The runner's buffer controls land separately; until then it answers UNSUPPORTED.
    if (contains(e.what(), "UNSUPPORTED")) GTEST_SKIP() << "the runner does not serve buffer controls: " << e.what();
    FAIL() << e.what();
  }
  const rc::Allocation a = rc::alloc_result(reply, id, 16);  // validated in full
  EXPECT_NE(a.buffer_id, 0u);
  EXPECT_NE(a.generation, 0u);
  EXPECT_EQ(a.nbytes, 16u);

  std::vector<std::byte> back(16, std::byte{0xff});
  rc::copy_from_result(w.control(id, rc::copy_from(id, a.buffer_id, a.generation, 0, 16)), back);
  EXPECT_EQ(back, std::vector<std::byte>(16)) << "a new allocation is zero-filled (buffers.md 3)";

  const std::vector<std::byte> in = bytes_1_to_16();
  rc::copy_to_result(w.control(id, rc::copy_to(id, a.buffer_id, a.generation, 0, in)));
  rc::copy_from_result(w.control(id, rc::copy_from(id, a.buffer_id, a.generation, 0, 16)), back);
  EXPECT_EQ(back, in);
  std::vector<std::byte> middle(4);
  rc::copy_from_result(w.control(id, rc::copy_from(id, a.buffer_id, a.generation, 4, 4)), middle);
  EXPECT_EQ(middle, std::vector<std::byte>(in.begin() + 4, in.begin() + 8));

  rc::free_result(w.control(id, rc::free_buffer(id, a.buffer_id, a.generation)));
  // FREE of a buffer that is already gone answers OK (protocol.md 8: idempotent).
  rc::free_result(w.control(id, rc::free_buffer(id, a.buffer_id, a.generation)));
  // The freed buffer is gone; the refusal carries the runner's text and leaves the endpoint healthy.
  const std::string err = control_error(w, id, rc::copy_from(id, a.buffer_id, a.generation, 0, 16));
  EXPECT_TRUE(contains(err, "COPY_FROM_REMOTE")) << err;
  EXPECT_FALSE(contains(err, "effect uncertain")) << err;
  EXPECT_TRUE(w.health(id).ready) << w.health(id).reason;
}

TEST_F(RemoteControl, RefusedControlsLeaveEndpointUsable) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
  w.init();
  const std::string prefix = "remote worker 0 at 127.0.0.1:" + std::to_string(daemon.port());

  std::string err = control_error(w, id, unregistered_probe());
  EXPECT_TRUE(contains(err, prefix)) << err;
  EXPECT_TRUE(contains(err, "PREPARE_CALLABLE")) << err;
  EXPECT_TRUE(contains(err, "control=PREPARE_CALLABLE seq=1")) << "the runner's own text is carried: " << err;
  EXPECT_FALSE(contains(err, "effect uncertain")) << err;

  // The domain family is reserved: always UNSUPPORTED (WIRE-21).
  err = control_error(w, id, ControlRequest{"COMM_INIT", {}});
  EXPECT_TRUE(contains(err, "COMM_INIT answered UNSUPPORTED")) << err;

  // Not a protocol name: refused here, nothing is sent.
  err = control_error(w, id, ControlRequest{"register", {1, 2, 3}});
  EXPECT_TRUE(contains(err, "unknown control 'register'")) << err;

  EXPECT_TRUE(w.health(id).ready) << w.health(id).reason;
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{0}), {}, id); }), "");
  // TASK seq 3 after two sent controls: the unknown name consumed no sequence.
  err = control_error(w, id, unregistered_probe());
  EXPECT_TRUE(contains(err, "control=PREPARE_CALLABLE seq=4")) << err;
  EXPECT_TRUE(w.health(id).ready) << w.health(id).reason;
}

TEST_F(RemoteControl, UnansweredControlIsUncertainAndFailsEndpoint) {
  Worker w(4, parent_options());
  RemoteWorkerSpec spec = spec_for(daemon);
  spec.health_expiry_s = 20;  // only the control's own deadline can end the wait
  const WorkerId id = w.add_remote_worker(spec);
  const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
  w.init();
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  ::kill(runner, SIGSTOP);  // the CONTROL reaches its socket, nobody answers
  const std::string err = control_error(w, id, unregistered_probe(), 0.3);
  ::kill(runner, SIGCONT);
  EXPECT_TRUE(contains(err, "effect uncertain")) << err;
  EXPECT_TRUE(contains(err, "CONTROL PREPARE_CALLABLE seq 1 got no reply before its deadline")) << err;
  // Sticky: a late reply must never pair with a later request (protocol.md 12).
  EXPECT_FALSE(w.health(id).ready);
  EXPECT_TRUE(contains(w.health(id).reason, "got no reply before its deadline")) << w.health(id).reason;
  const std::string again = control_error(w, id, unregistered_probe());
  EXPECT_FALSE(again.empty());
  EXPECT_FALSE(contains(again, "effect uncertain")) << "nothing more is sent: " << again;
  const std::string run_err =
      run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{0}), {}, id); });
  EXPECT_TRUE(contains(run_err, "FAILED")) << run_err;
  w.close();
  EXPECT_TRUE(wait_until([&] { return !process_alive(runner); })) << "the runner outlived its failed session";
}

TEST_F(RemoteControl, HealthExpiryEndsAWaitingControl) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(fast_health_spec_for(daemon));
  w.init();
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  ::kill(runner, SIGSTOP);
  // A 60 s deadline: the health lane (expiry 0.3 s) must end the wait, not the deadline.
  const std::string err = control_error(w, id, unregistered_probe(), 60);
  ::kill(runner, SIGCONT);
  EXPECT_TRUE(contains(err, "no HEALTH")) << err;
  EXPECT_TRUE(contains(err, "effect uncertain")) << "it was sent before the lane failed: " << err;
  EXPECT_FALSE(w.health(id).ready);
  w.close();
  EXPECT_TRUE(wait_until([&] { return !process_alive(runner); }));
}

TEST_F(RemoteControl, HostInlineArgumentReachesTheEntry) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
  w.init();
  const std::byte bytes[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  const RemoteTensorRef ref = RemoteTensorRef::host_inline(bytes, {4}, DataType::UINT8);
  // The entry sums every tensor byte and checks it against scalar 0 (buffers.md BUF-13).
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().input(ref).scalar(uint64_t{10}), {}, id); }),
            "");
  const std::string err =
      run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().input(ref).scalar(uint64_t{11}), {}, id); });
  EXPECT_TRUE(contains(err, "inline sum 10 does not match")) << err;
  EXPECT_TRUE(w.health(id).ready) << w.health(id).reason;
}

// --- one endpoint driven directly -----------------------------------------------------------------

TEST_F(RemoteControl, ControlWaitsForTheTaskSubmittedBeforeIt) {
  OpenEndpoint open(daemon, {"session_sleep_ms"});
  open.submit(1, 0, {300});
  // Refused on the spot, even while the task runs: an unknown name never queues.
  const ControlReply unknown = open.control(ControlRequest{"NOT_A_CONTROL", {}});
  EXPECT_FALSE(unknown.ok);
  EXPECT_TRUE(contains(unknown.error, "unknown control 'NOT_A_CONTROL'")) << unknown.error;
  const ControlReply reply = open.control(unregistered_probe());
  EXPECT_FALSE(reply.ok);
  EXPECT_FALSE(reply.uncertain);
  EXPECT_TRUE(contains(reply.error, "control=PREPARE_CALLABLE seq=2")) << reply.error;
  // The COMPLETION was taken before the control went out, so its event is already waiting.
  std::vector<EndpointEvent> events;
  open.ep.poll(events);
  ASSERT_EQ(events.size(), 1u) << "the control was answered before the task before it completed";
  EXPECT_EQ(events[0].dispatch_id, 1u);
  EXPECT_EQ(events[0].outcome, Outcome::SUCCESS) << events[0].message;
  EXPECT_TRUE(open.ep.health().ready) << open.ep.health().reason;
}

TEST_F(RemoteControl, ControlDeadlineWhileQueuedFailsOnlyTheCall) {
  OpenEndpoint open(daemon, {"session_sleep_ms"});
  open.submit(1, 0, {1500});
  // Still behind the running task when its deadline passes: never sent, so not uncertain (WIRE-25).
  const ControlReply late = open.control(unregistered_probe(), std::chrono::milliseconds(100));
  EXPECT_FALSE(late.ok);
  EXPECT_FALSE(late.uncertain);
  EXPECT_TRUE(contains(late.error, "waiting for the command lane (TASK seq 1 is still running)")) << late.error;
  EXPECT_TRUE(open.ep.health().ready) << open.ep.health().reason;
  const std::vector<EndpointEvent> events = open.waker.await(open.ep, 1, std::chrono::seconds(10));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, Outcome::SUCCESS) << "the task is unaffected: " << events[0].message;
  // The abandoned control consumed no sequence.
  const ControlReply next = open.control(unregistered_probe());
  EXPECT_TRUE(contains(next.error, "control=PREPARE_CALLABLE seq=2")) << next.error;
}

TEST_F(RemoteControl, WorkerControlTimeoutCapsTheCallersDeadline) {
  RemoteWorkerSpec spec = spec_for(daemon);
  spec.control_timeout_s = 0.1;
  OpenEndpoint open(spec, {"session_sleep_ms"});
  open.submit(1, 0, {1500});
  // The caller allows 60 s; the worker's control_timeout_s ends the wait behind the task first.
  const ControlReply capped = open.control(unregistered_probe(), std::chrono::seconds(60));
  EXPECT_FALSE(capped.ok);
  EXPECT_FALSE(capped.uncertain);
  EXPECT_TRUE(contains(capped.error, "timed out waiting for the command lane")) << capped.error;
  const std::vector<EndpointEvent> events = open.waker.await(open.ep, 1, std::chrono::seconds(10));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, Outcome::SUCCESS) << events[0].message;
}

TEST_F(RemoteControl, ExpiredDeadlineSendsNothing) {
  OpenEndpoint open(daemon, {"session_sleep_ms"});
  const ControlReply expired = open.control(unregistered_probe(), std::chrono::milliseconds(0));
  EXPECT_FALSE(expired.ok);
  EXPECT_FALSE(expired.uncertain);
  EXPECT_TRUE(contains(expired.error, "deadline has already passed")) << expired.error;
  EXPECT_TRUE(open.ep.health().ready) << open.ep.health().reason;
  const ControlReply next = open.control(unregistered_probe());
  EXPECT_TRUE(contains(next.error, "control=PREPARE_CALLABLE seq=1")) << "the expired call took a sequence: " << next.error;
}

TEST_F(RemoteControl, RemoteDeviceArgumentReachesTheOwnerAllocation) {
  OpenEndpoint open(daemon, {"session_check_inline_sum"});
  const ControlReply alloc = open.control(rc::alloc(16));
  if (!alloc.ok && contains(alloc.error, "UNSUPPORTED"))
    GTEST_SKIP() << "the runner does not serve buffer controls: " << alloc.error;
  const rc::Allocation a = rc::alloc_result(alloc, 0, 16);
  rc::copy_to_result(open.control(rc::copy_to(0, a.buffer_id, a.generation, 0, bytes_1_to_16())));

  // Bytes 4..11 of the allocation hold 5..12: the entry checks their sum (68) against scalar 0.
  RemoteTensorDesc view;
  view.address_space = RemoteSpace::REMOTE_DEVICE;
  view.owner_worker_id = 0;
  view.buffer_id = a.buffer_id;
  view.generation = a.generation;
  view.offset = 4;
  view.nbytes = 8;
  view.remote_addr = a.remote_addr;
  view.rkey_or_token = a.rkey_or_token;
  view.access_flags = REMOTE_ACCESS_READ_WRITE;
  auto submit_view = [&](uint64_t dispatch_id, const RemoteTensorDesc& d, uint64_t expected_sum) {
    RemoteArgs remote;
    remote.descs = {d};
    remote.handles = {nullptr};
    open.submit(dispatch_id, 0, {expected_sum},
                {wire::remote_placeholder(to_wire_desc(d), std::vector<uint32_t>{8}, DataType::UINT8)}, &remote);
  };
  submit_view(1, view, 68);
  std::vector<EndpointEvent> events = open.waker.await(open.ep, 1, std::chrono::seconds(10));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, Outcome::SUCCESS) << events[0].message;

  // A consistent placeholder and sidecar of a generation the runner never issued: refused there.
  RemoteTensorDesc stale = view;
  stale.generation = a.generation + 1;
  submit_view(2, stale, 68);
  events = open.waker.await(open.ep, 2, std::chrono::seconds(10));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].outcome, Outcome::TASK_FAILURE);
  EXPECT_TRUE(contains(events[1].message, "stale")) << events[1].message;
  EXPECT_TRUE(open.ep.health().ready) << open.ep.health().reason;
  rc::free_result(open.control(rc::free_buffer(0, a.buffer_id, a.generation)));
}

TEST_F(RemoteControl, RefusedArgumentsSendNothingAndFailOnlyTheTask) {
  OpenEndpoint open(daemon, {"session_sleep_ms"});
  // A REMOTE_DEVICE placeholder as the runtime would build it, but without its sidecar.
  wire::RemoteTensorDescWire desc;
  desc.address_space = wire::RemoteAddressSpace::REMOTE_DEVICE;
  desc.buffer_id = 7;
  desc.generation = 1;
  desc.nbytes = 16;
  const Tensor placeholder = wire::remote_placeholder(desc, std::vector<uint32_t>{16}, DataType::UINT8);
  open.submit(1, 0, {0}, {placeholder});
  // A bare host pointer: a local backing never travels.
  BufferDescriptor host;
  host.magic = BufferDescriptor::MAGIC;
  host.access = AccessMode::READWRITE;
  host.backend_kind = BackendKind::FORK_SHM;
  host.identity.generation = 1;
  host.nbytes = 16;
  host.body_len = 8;
  host.body[1] = 0x10;  // a non-zero base address
  open.submit(2, 0, {0}, {Tensor::view(host, 0, {16}, DataType::UINT8)});
  open.submit(3, 0, {0});  // the endpoint still runs a good task

  const std::vector<EndpointEvent> events = open.waker.await(open.ep, 3, std::chrono::seconds(10));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].dispatch_id, 1u);
  EXPECT_EQ(events[0].outcome, Outcome::TASK_FAILURE);
  EXPECT_TRUE(contains(events[0].message, "tensor submitted without remote sidecar")) << events[0].message;
  EXPECT_EQ(events[1].dispatch_id, 2u);
  EXPECT_EQ(events[1].outcome, Outcome::TASK_FAILURE);
  EXPECT_TRUE(contains(events[1].message, "a remote task argument must carry no local backing")) << events[1].message;
  EXPECT_EQ(events[2].dispatch_id, 3u);
  EXPECT_EQ(events[2].outcome, Outcome::SUCCESS) << events[2].message;
  EXPECT_TRUE(open.ep.health().ready) << open.ep.health().reason;
  // Only task 3 took a sequence: nothing of the refused tasks reached the runner.
  const ControlReply probe = open.control(unregistered_probe());
  EXPECT_TRUE(contains(probe.error, "control=PREPARE_CALLABLE seq=2")) << probe.error;
}

}  // namespace
}  // namespace echelon::remote_e2e
