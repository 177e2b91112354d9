// Process tests of echelon-l3-session (runtime.md RT-904..907, protocol.md 5-7, 10-12).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "runner_harness.h"
#include "session/runner_error_text.h"
#include "wire/hello.h"

namespace echelon::session_test {
namespace {

using namespace std::chrono_literals;

// Every wait below is bounded; a full round trip on loopback takes milliseconds.
constexpr auto TASK_TIMEOUT = 5000ms;
constexpr auto EXIT_TIMEOUT = 5000ms;

TEST(SessionRunner, HelloReadyOnlyAfterInnerSchedulerStarted) {
  RunnerSession s(test_manifest(/*num_sub_workers=*/2));
  EXPECT_EQ(s.hello_header().type, wire::FrameType::HELLO);
  EXPECT_EQ(s.hello_header().sequence, 0u);
  EXPECT_EQ(s.hello().session_id, s.session_id());
  EXPECT_EQ(s.hello().worker_id, WORKER_ID);
  EXPECT_EQ(s.hello().protocol_version, wire::WIRE_VERSION);
  EXPECT_EQ(s.hello().comm_profile, "host_tcp");
  EXPECT_EQ(s.hello().feature_flags, 0u);
  EXPECT_FALSE(s.hello().ext.has_value());
  EXPECT_EQ(s.hello().ready_state, wire::ReadyState::READY);
  // The inner worker's two SUB children were already forked when HELLO READY arrived.
  EXPECT_EQ(s.children_at_hello().size(), 2u) << "both SUB children must be forked before HELLO READY";
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(EXIT_TIMEOUT), "exited with status 0");
}

TEST(SessionRunner, SingleTaskRoundTrip) {
  RunnerSession s(test_manifest());
  const std::vector<uint8_t> bytes = {1, 2, 3, 250, 7};
  const auto c = s.run_task(inline_task(plugin_digest("session_check_inline_sum"), bytes, {263}), TASK_TIMEOUT);
  EXPECT_EQ(c.status(), wire::WireStatus::OK) << c.error_message;
  EXPECT_TRUE(c.error_message.empty());
  // A zero-tensor task works too, and a later task sees a fresh sequence.
  const auto again = s.run_task(inline_task(plugin_digest("session_check_inline_sum"), {}, {0}), TASK_TIMEOUT);
  EXPECT_EQ(again.status(), wire::WireStatus::OK) << again.error_message;
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(EXIT_TIMEOUT), "exited with status 0");
}

TEST(SessionRunner, RemoteErrorCarriesHostWorkerHashSeq) {
  RunnerSession s(test_manifest());
  const Digest digest = plugin_digest("session_always_fail");
  const uint64_t seq = s.send_task(inline_task(digest, {}, {}));
  const auto c = s.await_completion(seq, TASK_TIMEOUT);
  EXPECT_EQ(c.status(), wire::WireStatus::FAILED);
  const std::string prefix = "[host=" + session::local_host_name() + " worker=" + std::to_string(WORKER_ID) +
                             " callable=" + to_hashid(digest) + " seq=" + std::to_string(seq) + "] ";
  EXPECT_EQ(c.error_message.rfind(prefix, 0), 0u) << c.error_message;
  EXPECT_NE(c.error_message.find("session test entry failed on purpose"), std::string::npos) << c.error_message;
  // The session survives a failed task.
  const auto ok = s.run_task(inline_task(plugin_digest("session_check_inline_sum"), {9}, {9}), TASK_TIMEOUT);
  EXPECT_EQ(ok.status(), wire::WireStatus::OK) << ok.error_message;
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(EXIT_TIMEOUT), "exited with status 0");
}

TEST(SessionRunner, UnknownDigestFailsTheTaskNotTheSession) {
  RunnerSession s(test_manifest());
  Digest unknown{};
  unknown.fill(0xab);
  const auto c = s.run_task(inline_task(unknown, {}, {}), TASK_TIMEOUT);
  EXPECT_EQ(c.status(), wire::WireStatus::NOT_FOUND);
  EXPECT_NE(c.error_message.find(to_hashid(unknown)), std::string::npos) << c.error_message;
  const auto ok = s.run_task(inline_task(plugin_digest("session_check_inline_sum"), {4, 4}, {8}), TASK_TIMEOUT);
  EXPECT_EQ(ok.status(), wire::WireStatus::OK) << ok.error_message;
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(EXIT_TIMEOUT), "exited with status 0");
}

TEST(SessionRunner, HealthFlowsDuringLongTask) {
  RunnerSession s(test_manifest());  // health interval 50 ms
  s.drain_health();
  const uint64_t seq = s.send_task(inline_task(plugin_digest("session_sleep_ms"), {}, {600}));
  // Sample the health lane while the task runs: frames keep coming with increasing sequences.
  std::vector<uint64_t> sequences;
  const auto until = std::chrono::steady_clock::now() + 450ms;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& f : s.drain_health()) {
      EXPECT_EQ(f.header.type, wire::FrameType::HEALTH);
      sequences.push_back(f.header.sequence);
    }
    std::this_thread::sleep_for(20ms);
  }
  const auto c = s.await_completion(seq, TASK_TIMEOUT);
  EXPECT_EQ(c.status(), wire::WireStatus::OK) << c.error_message;
  EXPECT_GE(sequences.size(), 4u) << "health must not stall behind the command lane";
  EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(EXIT_TIMEOUT), "exited with status 0");
}

TEST(SessionRunner, MalformedFrameFailsOnlyThisSession) {
  RunnerSession other(test_manifest());
  RunnerSession s(test_manifest(/*num_sub_workers=*/2));
  // A frame for another session id: the runner must end this session, not skip the frame.
  const wire::FrameRoute foreign{s.session_id() + 1, WORKER_ID, s.next_sequence(), 0};
  s.send_raw(wire::encode_frame(wire::FrameType::SHUTDOWN, foreign, {}));
  const auto how = s.wait_exit(EXIT_TIMEOUT);
  ASSERT_TRUE(how.has_value());
  EXPECT_NE(*how, "exited with status 0");
  for (int child : s.children_at_hello()) EXPECT_FALSE(process_alive(child)) << "inner child " << child << " left behind";
  // The other session is unaffected.
  const auto ok = other.run_task(inline_task(plugin_digest("session_check_inline_sum"), {1}, {1}), TASK_TIMEOUT);
  EXPECT_EQ(ok.status(), wire::WireStatus::OK) << ok.error_message;
  other.send_shutdown();
  EXPECT_EQ(other.wait_exit(EXIT_TIMEOUT), "exited with status 0");
}

TEST(SessionRunner, ShutdownExitsZeroAndReapsChildren) {
  RunnerSession s(test_manifest(/*num_sub_workers=*/2));
  ASSERT_EQ(s.children_at_hello().size(), 2u);
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(EXIT_TIMEOUT), "exited with status 0");
  for (int child : s.children_at_hello()) EXPECT_FALSE(process_alive(child)) << "inner child " << child << " left behind";
}

}  // namespace
}  // namespace echelon::session_test
