// Process tests of remote buffers on the real echelon-l3-session (buffers.md 3-5, protocol.md 6.4,
// 6.5, 9.2, 14): buffer-family controls, REMOTE_DEVICE task arguments written in place by the
// inner chip, refusals with their codes, and no shared memory left after any session end.
#include <gtest/gtest.h>

#include <cstring>

#include "runner_harness.h"
#include "session/runner_error_text.h"
#include "remote/session_shm_names.h"
#include "wire/buffer_controls.h"

namespace echelon::session_test {
namespace {

using namespace std::chrono_literals;
using wire::ControlName;
using wire::WireStatus;

constexpr auto TIMEOUT = 5000ms;

wire::AllocResult alloc(RunnerSession& s, uint64_t nbytes) {
  const auto r = s.run_control(ControlName::ALLOC_REMOTE_BUFFER, wire::encode_alloc_request({nbytes}), TIMEOUT);
  EXPECT_EQ(r.status, WireStatus::OK) << r.message;
  return wire::decode_alloc_result(r.result);
}

ControlResult copy_to(RunnerSession& s, uint64_t buffer, uint64_t gen, uint64_t offset, std::vector<uint8_t> data,
                      int32_t worker = WORKER_ID) {
  const wire::CopyRequest req{worker, buffer, gen, offset, data.size(), std::move(data)};
  return s.run_control(ControlName::COPY_TO_REMOTE, wire::encode_copy_request(req, wire::CopyDirection::TO_REMOTE),
                       TIMEOUT);
}

ControlResult copy_from(RunnerSession& s, uint64_t buffer, uint64_t gen, uint64_t offset, uint64_t size,
                        int32_t worker = WORKER_ID) {
  const wire::CopyRequest req{worker, buffer, gen, offset, size, {}};
  return s.run_control(ControlName::COPY_FROM_REMOTE,
                       wire::encode_copy_request(req, wire::CopyDirection::FROM_REMOTE), TIMEOUT);
}

ControlResult free_buffer(RunnerSession& s, uint64_t buffer, uint64_t gen) {
  return s.run_control(ControlName::FREE_REMOTE_BUFFER, wire::encode_buffer_ref({WORKER_ID, buffer, gen}), TIMEOUT);
}

// TASK: session_chip_increment over one REMOTE_DEVICE UINT8 view described by `desc`.
wire::TaskPayload increment_task(const wire::RemoteTensorDescWire& desc, uint8_t by = 1) {
  wire::TaskPayload t;
  t.callable_digest = plugin_digest("session_chip_increment");
  add_remote_arg(t, desc, static_cast<uint32_t>(desc.nbytes), DataType::UINT8);
  t.args.scalars = {by};
  for (uint64_t w : digest_scalars(test_kernel("inc_u8").identity().digest)) t.args.scalars.push_back(w);
  return t;
}

std::string control_prefix(const char* control, uint64_t seq) {
  return "[host=" + session::local_host_name() + " worker=" + std::to_string(WORKER_ID) + " control=" + control +
         " seq=" + std::to_string(seq) + "] ";
}

// BUF-4 on a real runner: 1,2,3,4 in; a chip kernel increments each byte in place through the
// REMOTE_DEVICE argument; 2,3,4,5 out.
TEST(RemoteBufferRunner, CopyToTaskIncrementCopyFrom) {
  RunnerSession s(chip_manifest());
  const auto a = alloc(s, 4);
  EXPECT_EQ(a.worker_id, WORKER_ID);
  EXPECT_EQ(a.buffer_id, 1u);
  EXPECT_EQ(a.generation, 1u);
  EXPECT_EQ(a.address_space, wire::RemoteAddressSpace::REMOTE_DEVICE);
  EXPECT_EQ(a.nbytes, 4u);
  const std::string object = remote::session_shm_prefix(s.session_id()) + "b1";
  EXPECT_EQ(shm_objects(remote::session_shm_prefix(s.session_id())), std::vector<std::string>{object});

  const auto zero = copy_from(s, 1, 1, 0, 4);
  EXPECT_EQ(zero.result, std::vector<uint8_t>(4, 0)) << "allocations are zero-filled";
  const auto put = copy_to(s, 1, 1, 0, {1, 2, 3, 4});
  EXPECT_EQ(put.status, WireStatus::OK) << put.message;
  EXPECT_TRUE(put.result.empty());

  const auto c = s.run_task(increment_task(device_desc(WORKER_ID, 1, 1, 0, 4)), TIMEOUT);
  ASSERT_EQ(c.status(), WireStatus::OK) << c.error_message;
  const auto got = copy_from(s, 1, 1, 0, 4);
  ASSERT_EQ(got.status, WireStatus::OK) << got.message;
  EXPECT_EQ(got.result, (std::vector<uint8_t>{2, 3, 4, 5}));

  // A view of the middle two bytes is offset inside the same allocation.
  const auto mid = s.run_task(increment_task(device_desc(WORKER_ID, 1, 1, 1, 2), 10), TIMEOUT);
  ASSERT_EQ(mid.status(), WireStatus::OK) << mid.error_message;
  EXPECT_EQ(copy_from(s, 1, 1, 0, 4).result, (std::vector<uint8_t>{2, 13, 14, 5}));

  EXPECT_EQ(free_buffer(s, 1, 1).status, WireStatus::OK);
  EXPECT_TRUE(shm_objects(remote::session_shm_prefix(s.session_id())).empty());
  EXPECT_EQ(free_buffer(s, 1, 1).status, WireStatus::OK) << "FREE is idempotent";
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 0");
}

// BUF-13: an inline input summed by the chip into a REMOTE_DEVICE output.
TEST(RemoteBufferRunner, HostInlineInputSummedIntoRemoteOutput) {
  RunnerSession s(chip_manifest());
  alloc(s, 16);
  wire::TaskPayload t = inline_task(plugin_digest("session_chip_sum"), {1, 2, 3, 4}, {});
  add_remote_arg(t, device_desc(WORKER_ID, 1, 1, 8, 8), 1, DataType::UINT64);
  t.args.scalars = digest_scalars(test_kernel("sum_u8").identity().digest);
  const auto c = s.run_task(t, TIMEOUT);
  ASSERT_EQ(c.status(), WireStatus::OK) << c.error_message;
  const auto out = copy_from(s, 1, 1, 8, 8);
  ASSERT_EQ(out.result.size(), 8u);
  uint64_t sum = 0;
  std::memcpy(&sum, out.result.data(), 8);
  EXPECT_EQ(sum, 10u);
  EXPECT_EQ(copy_from(s, 1, 1, 0, 8).result, std::vector<uint8_t>(8, 0)) << "bytes outside the view are untouched";
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 0");
}

// WIRE-15: each bad REMOTE_DEVICE descriptor fails only its task, with the rule's code and a
// message naming the argument; nothing is written, and the session stays usable.
TEST(RemoteBufferRunner, BadDescriptorsFailTheTaskWithTheirCode) {
  RunnerSession s(chip_manifest());
  alloc(s, 4);
  alloc(s, 4);
  ASSERT_EQ(copy_to(s, 1, 1, 0, {1, 2, 3, 4}).status, WireStatus::OK);
  ASSERT_EQ(free_buffer(s, 2, 1).status, WireStatus::OK);
  struct Case {
    const char* name;
    wire::RemoteTensorDescWire desc;
    WireStatus code;
    const char* says;
  };
  const Case cases[] = {
      {"stale generation", device_desc(WORKER_ID, 1, 2, 0, 4), WireStatus::STALE, "stale"},
      {"range outside the allocation", device_desc(WORKER_ID, 1, 1, 2, 4), WireStatus::REJECTED, "outside"},
      {"another worker's buffer", device_desc(WORKER_ID + 1, 1, 1, 0, 4), WireStatus::REJECTED, "owned by worker 8"},
      {"unknown buffer", device_desc(WORKER_ID, 99, 1, 0, 4), WireStatus::NOT_FOUND, "not allocated"},
      {"freed buffer", device_desc(WORKER_ID, 2, 1, 0, 4), WireStatus::REJECTED, "was freed"},
  };
  for (const Case& c : cases) {
    const auto done = s.run_task(increment_task(c.desc), TIMEOUT);
    EXPECT_EQ(done.status(), c.code) << c.name << ": " << done.error_message;
    EXPECT_NE(done.error_message.find("argument 0"), std::string::npos) << c.name << ": " << done.error_message;
    EXPECT_NE(done.error_message.find(c.says), std::string::npos) << c.name << ": " << done.error_message;
  }
  auto ub = device_desc(WORKER_ID, 1, 1, 0, 4);
  ub.address_space = wire::RemoteAddressSpace::UB_LDST;
  EXPECT_EQ(s.run_task(increment_task(ub), TIMEOUT).status(), WireStatus::UNSUPPORTED);
  EXPECT_EQ(copy_from(s, 1, 1, 0, 4).result, (std::vector<uint8_t>{1, 2, 3, 4})) << "a refused task wrote nothing";
  const auto ok = s.run_task(increment_task(device_desc(WORKER_ID, 1, 1, 0, 4)), TIMEOUT);
  EXPECT_EQ(ok.status(), WireStatus::OK) << ok.error_message;
  EXPECT_EQ(copy_from(s, 1, 1, 0, 4).result, (std::vector<uint8_t>{2, 3, 4, 5}));
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 0");
}

// protocol.md 8, 14 F: refused controls carry their code and the [host worker control seq] prefix,
// change nothing, and a malformed body is only a REJECTED reply.
TEST(RemoteBufferRunner, ControlRefusalsCarryCodeAndPrefix) {
  RunnerSession s(test_manifest());
  alloc(s, 4);
  ASSERT_EQ(copy_to(s, 1, 1, 0, {5, 6, 7, 8}).status, WireStatus::OK);

  const auto outside = copy_to(s, 1, 1, 3, {1, 1});
  EXPECT_EQ(outside.status, WireStatus::REJECTED);
  EXPECT_EQ(outside.message.rfind(control_prefix("COPY_TO_REMOTE", outside.sequence), 0), 0u) << outside.message;
  EXPECT_NE(outside.message.find("outside"), std::string::npos) << outside.message;
  EXPECT_TRUE(outside.result.empty());

  const auto stale = copy_from(s, 1, 2, 0, 4);
  EXPECT_EQ(stale.status, WireStatus::STALE) << stale.message;
  EXPECT_TRUE(stale.result.empty());
  EXPECT_EQ(copy_from(s, 9, 1, 0, 4).status, WireStatus::NOT_FOUND);
  EXPECT_EQ(copy_from(s, 1, 1, 0, 4, WORKER_ID + 1).status, WireStatus::REJECTED);
  const auto free_other = s.run_control(ControlName::FREE_REMOTE_BUFFER, wire::encode_buffer_ref({WORKER_ID + 1, 1, 1}), TIMEOUT);
  EXPECT_EQ(free_other.status, WireStatus::REJECTED) << free_other.message;

  // A 3-byte ALLOC body: REJECTED, and the session goes on.
  const auto malformed = s.run_control(ControlName::ALLOC_REMOTE_BUFFER, {1, 2, 3}, TIMEOUT);
  EXPECT_EQ(malformed.status, WireStatus::REJECTED);
  EXPECT_EQ(malformed.message.rfind(control_prefix("ALLOC_REMOTE_BUFFER", malformed.sequence), 0), 0u)
      << malformed.message;
  const auto zero = s.run_control(ControlName::ALLOC_REMOTE_BUFFER, std::vector<uint8_t>(8, 0), TIMEOUT);
  EXPECT_EQ(zero.status, WireStatus::REJECTED) << zero.message;
  // Version 2 copies are ucx-only; a register-family command with no valid registry is a codec
  // refusal (the register controls themselves are covered in register_controls_runner_test.cpp).
  const auto v2 = s.run_control(ControlName::COPY_FROM_REMOTE,
                                wire::encode_copy_rma_request({WORKER_ID, 1, 1, 0, 4, 0x1000, {1}}), TIMEOUT, 2);
  EXPECT_EQ(v2.status, WireStatus::UNSUPPORTED) << v2.message;
  const auto reg = s.run_control(ControlName::PREPARE_CALLABLE, std::vector<uint8_t>(40, 0), TIMEOUT);
  EXPECT_EQ(reg.status, WireStatus::REJECTED) << reg.message;

  EXPECT_EQ(copy_from(s, 1, 1, 0, 4).result, (std::vector<uint8_t>{5, 6, 7, 8})) << "refusals changed the buffer";
  EXPECT_EQ(alloc(s, 1).buffer_id, 2u) << "refused allocations consumed no id";
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 0");
}

// Bulk COPY_TO_REMOTE data is received straight into shared memory once the head has passed every
// check; a refused head makes the runner take the whole frame off the lane as before, answer with
// the usual code, write nothing, and stay in step for the next control.
TEST(RemoteBufferRunner, BulkCopiesRefusedOrAcceptedKeepTheLaneInStep) {
  RunnerSession s(test_manifest());
  constexpr size_t N = 1 << 20;
  alloc(s, N);
  std::vector<uint8_t> data(N);
  for (size_t i = 0; i < N; ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  ASSERT_EQ(copy_to(s, 1, 1, 0, data).status, WireStatus::OK);
  EXPECT_EQ(copy_from(s, 1, 1, 0, N).result, data);

  const std::vector<uint8_t> other(N / 2, 0xEE);
  const auto stale = copy_to(s, 1, 2, 0, other);
  EXPECT_EQ(stale.status, WireStatus::STALE) << stale.message;
  EXPECT_EQ(stale.message.rfind(control_prefix("COPY_TO_REMOTE", stale.sequence), 0), 0u) << stale.message;
  EXPECT_EQ(copy_to(s, 9, 1, 0, other).status, WireStatus::NOT_FOUND);
  EXPECT_EQ(copy_to(s, 1, 1, 0, other, WORKER_ID + 1).status, WireStatus::REJECTED);
  const auto outside = copy_to(s, 1, 1, N - N / 4, other);  // straddles the end
  EXPECT_EQ(outside.status, WireStatus::REJECTED) << outside.message;
  EXPECT_NE(outside.message.find("outside"), std::string::npos) << outside.message;
  EXPECT_EQ(copy_from(s, 1, 1, 0, N).result, data) << "a refused bulk copy wrote into the buffer";

  // A partial bulk write lands exactly where asked, and the lane is still usable.
  ASSERT_EQ(copy_to(s, 1, 1, N / 4, other).status, WireStatus::OK);
  std::vector<uint8_t> expected = data;
  std::copy(other.begin(), other.end(), expected.begin() + N / 4);
  EXPECT_EQ(copy_from(s, 1, 1, 0, N).result, expected);
  EXPECT_EQ(free_buffer(s, 1, 1).status, WireStatus::OK);
  EXPECT_EQ(copy_to(s, 1, 1, 0, other).status, WireStatus::REJECTED) << "freed";
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 0");
}

// The test fault hook still sees each bulk COPY_TO_REMOTE exactly once (it is asked before the data
// is placed): the second one fails as injected and writes nothing, the third is applied.
TEST(RemoteBufferRunner, InjectedFaultOnABulkCopyToWritesNothing) {
#ifndef ECHELON_TEST_HOOKS
  GTEST_SKIP() << "built without ECHELON_TEST_HOOKS";
#endif
  RunnerLaunchOptions o;
  o.extra_env.push_back("ECHELON_TEST_FAULT=fail:COPY_TO_REMOTE:2");
  RunnerSession s(test_manifest(), o);
  constexpr size_t N = 256 * 1024;
  alloc(s, N);
  const std::vector<uint8_t> first(N, 1), second(N, 2), third(N / 2, 3);
  ASSERT_EQ(copy_to(s, 1, 1, 0, first).status, WireStatus::OK);
  const auto failed = copy_to(s, 1, 1, 0, second);
  EXPECT_EQ(failed.status, WireStatus::FAILED) << failed.message;
  EXPECT_NE(failed.message.find("injected fault"), std::string::npos) << failed.message;
  EXPECT_EQ(copy_from(s, 1, 1, 0, N).result, first) << "the failed copy wrote into the buffer";
  ASSERT_EQ(copy_to(s, 1, 1, 0, third).status, WireStatus::OK);
  std::vector<uint8_t> expected = first;
  std::fill(expected.begin(), expected.begin() + N / 2, 3);
  EXPECT_EQ(copy_from(s, 1, 1, 0, N).result, expected);
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 0");
}

// BUF-16: whatever ends the session, no shared-memory object with its prefix survives.
enum class End { SHUTDOWN, PARENT_DROPS_LANES, PROTOCOL_VIOLATION };

void PrintTo(End end, std::ostream* os) { *os << static_cast<int>(end); }

class SessionEndTest : public ::testing::TestWithParam<End> {};

TEST_P(SessionEndTest, LeavesNoSharedMemory) {
  RunnerSession s(chip_manifest());
  const std::string prefix = remote::session_shm_prefix(s.session_id());
  alloc(s, 4096);
  alloc(s, 8);
  ASSERT_EQ(copy_to(s, 2, 1, 0, {1, 2, 3, 4, 5, 6, 7, 8}).status, WireStatus::OK);
  ASSERT_EQ(s.run_task(increment_task(device_desc(WORKER_ID, 2, 1, 0, 8)), TIMEOUT).status(), WireStatus::OK);
  ASSERT_EQ(s.run_task(inline_task(plugin_digest("session_check_inline_sum"), {3, 4}, {7}), TIMEOUT).status(),
            WireStatus::OK);
  EXPECT_EQ(shm_objects(prefix).size(), 2u) << "two allocations; the inline buffer went with its task";
  switch (GetParam()) {
    case End::SHUTDOWN:
      s.send_shutdown();
      EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 0");
      break;
    case End::PARENT_DROPS_LANES:
      s.close_lanes();
      EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 1");
      break;
    case End::PROTOCOL_VIOLATION: {
      const wire::FrameRoute foreign{s.session_id() + 1, WORKER_ID, s.next_sequence(), 0};
      s.send_raw(wire::encode_frame(wire::FrameType::SHUTDOWN, foreign, {}));
      EXPECT_EQ(s.wait_exit(TIMEOUT), "exited with status 1");
      break;
    }
  }
  EXPECT_TRUE(shm_objects(prefix).empty()) << shm_objects(prefix).front();
  for (int child : s.children_at_hello()) EXPECT_FALSE(process_alive(child)) << "inner child " << child;
}

INSTANTIATE_TEST_SUITE_P(RemoteBufferRunner, SessionEndTest,
                         ::testing::Values(End::SHUTDOWN, End::PARENT_DROPS_LANES, End::PROTOCOL_VIOLATION),
                         [](const ::testing::TestParamInfo<End>& info) {
                           switch (info.param) {
                             case End::SHUTDOWN: return "Shutdown";
                             case End::PARENT_DROPS_LANES: return "ParentDropsLanes";
                             case End::PROTOCOL_VIOLATION: return "ProtocolViolation";
                           }
                           return "Unknown";
                         });

}  // namespace
}  // namespace echelon::session_test
