// The runner's INNER_L3_WORKER registry and inner-handle lookup on the real echelon-l3-session
// (callables.md 3, 8, 9, 11; CALL-10, -26, -28): inner installs never become TASK-visible,
// dispatcher installs never become inner-visible, prepared-only and unregistered digests are not
// found, and inner chip kernels and native sub entries - from the manifest or post-init controls -
// run from a dispatcher orchestration entry through echelon::remote::inner_handle.
#include <gtest/gtest.h>

#include "register_test_support.h"

namespace echelon::session_test {
namespace {

using wire::ControlName;
using wire::WireStatus;

const std::vector<uint8_t> SEVENTEEN = {17, 0, 0, 0, 0, 0, 0, 0};

bool says_not_installed(const wire::CompletionPayload& c, const Digest& d) {
  return contains(std::string(c.error_message), "remote inner callable " + to_hashid(d) + " is not installed");
}

remote::ManifestEntry inner_native_entry(const std::string& symbol) {
  remote::ManifestEntry e = plugin_entry(symbol);
  return e;
}

TEST(RunnerRegistry, InnerInstallInvisibleToTask) {
  RunnerSession s(register_manifest());
  const auto sub = native_command(INNER, "session_sub_store_scalar");
  register_both_phases(s, sub);
  const auto task = s.run_task(inline_task(sub.digest, {}, {}), REGISTER_TIMEOUT);
  EXPECT_EQ(task.status(), WireStatus::NOT_FOUND) << task.error_message;
  EXPECT_EQ(digest_control(s, ControlName::PREPARE_CALLABLE, DISPATCHER, sub.kind, sub.digest).status,
            WireStatus::NOT_FOUND);
  // A post-init inner chip kernel is not a TASK target either.
  const ChipCallable chip = test_kernel("inc_u8");
  register_both_phases(s, chip_command(INNER, chip_payload(chip), chip.identity().digest));
  EXPECT_EQ(s.run_task(inline_task(chip.identity().digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::NOT_FOUND);
  // Both are installed where they belong.
  EXPECT_EQ(run_inner_probe(s, sub.digest).status(), WireStatus::OK);
  EXPECT_EQ(run_inner_probe(s, chip.identity().digest).status(), WireStatus::OK);
}

TEST(RunnerRegistry, DispatcherInstallInvisibleToInnerLookup) {
  RunnerSession s(register_manifest());
  const auto noop = native_command(DISPATCHER, "session_noop");
  register_both_phases(s, noop);
  ASSERT_EQ(s.run_task(inline_task(noop.digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
  for (const Digest& d : {noop.digest, plugin_digest("session_check_inline_sum")}) {
    const auto probe = run_inner_probe(s, d);
    EXPECT_EQ(probe.status(), WireStatus::FAILED);
    EXPECT_TRUE(says_not_installed(probe, d)) << probe.error_message;
  }
}

TEST(InnerHandles, PreparedOnlyNotFound) {
  RunnerSession s(register_manifest());
  const auto sub = native_command(INNER, "session_sub_store_scalar");
  ASSERT_EQ(prepare(s, sub).status, WireStatus::OK);
  const auto before = run_inner_probe(s, sub.digest);
  EXPECT_EQ(before.status(), WireStatus::FAILED);
  EXPECT_TRUE(says_not_installed(before, sub.digest)) << before.error_message;
  ASSERT_EQ(commit(s, INNER, sub.kind, sub.digest).status, WireStatus::OK);
  const auto after = run_inner_probe(s, sub.digest);
  EXPECT_EQ(after.status(), WireStatus::OK) << after.error_message;
  // An aborted inner prepare is not found either.
  const ChipCallable chip = test_kernel("sum_u8");
  ASSERT_EQ(prepare(s, chip_command(INNER, chip_payload(chip), chip.identity().digest)).status, WireStatus::OK);
  ASSERT_EQ(digest_control(s, ControlName::ABORT_REGISTER_CALLABLE, INNER, CallableKind::CHIP_CALLABLE,
                           chip.identity().digest).status,
            WireStatus::OK);
  EXPECT_TRUE(says_not_installed(run_inner_probe(s, chip.identity().digest), chip.identity().digest));
}

TEST(InnerHandles, UnpublishedOnUnregister) {
  RunnerSession s(register_manifest());
  const auto sub = native_command(INNER, "session_sub_store_scalar");
  const ChipCallable chip = test_kernel("inc_u8");
  const Digest kernel = chip.identity().digest;
  register_both_phases(s, sub);
  register_both_phases(s, chip_command(INNER, chip_payload(chip), kernel));
  ASSERT_EQ(run_inner_sub_store(s, sub.digest, 17), SEVENTEEN);
  for (const auto& [kind, d] : {std::pair{sub.kind, sub.digest}, std::pair{CallableKind::CHIP_CALLABLE, kernel}}) {
    EXPECT_EQ(run_inner_probe(s, d).status(), WireStatus::OK);
    const auto r = digest_control(s, ControlName::UNREGISTER_CALLABLE, INNER, kind, d);
    EXPECT_EQ(r.status, WireStatus::OK) << r.message;
    const auto probe = run_inner_probe(s, d);
    EXPECT_EQ(probe.status(), WireStatus::FAILED);
    EXPECT_TRUE(says_not_installed(probe, d)) << probe.error_message;
  }
  // Registered again, both run again (the SUB children reinstall the sub entry).
  register_both_phases(s, sub);
  register_both_phases(s, chip_command(INNER, chip_payload(chip), kernel));
  EXPECT_EQ(run_inner_sub_store(s, sub.digest, 17), SEVENTEEN);
  EXPECT_EQ(run_inner_chip_increment(s, kernel), (std::vector<uint8_t>{2, 3, 4, 5}));
}

// CALL-26: a kernel registered on INNER_L3_WORKER after init runs from an orchestration entry.
TEST(InnerRuns, PostInitChipKernelRunsViaInnerHandle) {
  RunnerSession s(register_manifest());
  const ChipCallable chip = test_kernel("inc_u8");
  register_both_phases(s, chip_command(INNER, chip_payload(chip), chip.identity().digest));
  EXPECT_EQ(run_inner_chip_increment(s, chip.identity().digest), (std::vector<uint8_t>{2, 3, 4, 5}));
}

// CALL-28, post-init: every SUB child was forked before the registration, and each loads the
// plugin itself before the commit reply; with two SUBs the task may land on either.
TEST(InnerRuns, PostInitNativeSubRunsViaInnerHandle) {
  RunnerSession s(register_manifest(2));
  const auto sub = native_command(INNER, "session_sub_store_scalar");
  register_both_phases(s, sub);
  for (uint64_t value : {17u, 18u, 19u, 20u}) {
    const std::vector<uint8_t> want = {static_cast<uint8_t>(value), 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(run_inner_sub_store(s, sub.digest, value), want);
  }
}

// CALL-28, manifest: the inner sub entry is installed before the inner init(), so the forked
// SUB children inherit it; the manifest chip kernel is reachable the same way.
TEST(InnerRuns, ManifestNativeSubRunsViaInnerHandle) {
  remote::BootstrapManifest m = chip_manifest();
  m.num_sub_workers = 1;
  for (const char* symbol : {"session_inner_probe", "session_inner_chip_increment", "session_inner_sub_store"})
    m.remote_task_dispatcher.push_back(plugin_entry(symbol));
  m.inner_l3_worker.push_back(inner_native_entry("session_sub_store_scalar"));
  RunnerSession s(m);
  EXPECT_EQ(run_inner_sub_store(s, plugin_digest("session_sub_store_scalar"), 17), SEVENTEEN);
  EXPECT_EQ(run_inner_chip_increment(s, test_kernel("inc_u8").identity().digest), (std::vector<uint8_t>{2, 3, 4, 5}));
  // Manifest inner entries are live: unregister takes them off like a committed one.
  EXPECT_EQ(digest_control(s, ControlName::UNREGISTER_CALLABLE, INNER, CallableKind::NATIVE_IMPORT,
                           plugin_digest("session_sub_store_scalar")).status,
            WireStatus::OK);
  EXPECT_TRUE(says_not_installed(run_inner_probe(s, plugin_digest("session_sub_store_scalar")),
                                 plugin_digest("session_sub_store_scalar")));
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(REGISTER_TIMEOUT), "exited with status 0");
}

// A manifest inner entry goes through the same checks as a prepare: an orchestration entry is
// refused for the inner worker, and the session does not start.
TEST(InnerRuns, ManifestInnerOrchestrationEntryFailsStartup) {
  remote::BootstrapManifest m = register_manifest();
  m.inner_l3_worker.push_back(inner_native_entry("session_noop"));
  const auto deadline = transport::Clock::now() + std::chrono::seconds(10);
  remote::RunnerLaunch launch;
  launch.deadline = deadline;
  launch.plugin_dirs = {ECHELON_SESSION_PLUGIN_DIR};
  auto runner = remote::spawn_runner(ECHELON_SESSION_BINARY, remote::to_json(m), launch);
  const auto status = runner.read_status(deadline);
  const auto* error = std::get_if<remote::ReplyError>(&status.outcome);
  ASSERT_NE(error, nullptr) << "the runner started with an orchestration entry in inner_l3_worker";
  EXPECT_TRUE(contains(error->text(), "RegistryError")) << error->text();
  EXPECT_TRUE(contains(error->text(), "manifest.inner_l3_worker[0]")) << error->text();
  EXPECT_TRUE(contains(error->text(), "needs a sub entry")) << error->text();
}

}  // namespace
}  // namespace echelon::session_test
