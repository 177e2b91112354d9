// Test fault injection (ECHELON_TEST_FAULT, src/session/fault_injection.h) observed through the
// harness, and plugin paths that try to leave their directory, refused at PREPARE
// (callables.md 2.6). After each, the runner still runs a TASK.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "register_test_support.h"

namespace echelon::session_test {
namespace {

using wire::ControlName;
using wire::WireStatus;
namespace fs = std::filesystem;

#ifdef ECHELON_TEST_HOOKS
#define REQUIRE_TEST_HOOKS()
#else
#define REQUIRE_TEST_HOOKS() GTEST_SKIP() << "built without ECHELON_TEST_HOOKS"
#endif

RunnerLaunchOptions with_fault(std::string fault, std::string stall_s = "") {
  RunnerLaunchOptions o;
  o.extra_env.push_back("ECHELON_TEST_FAULT=" + fault);
  if (!stall_s.empty()) o.extra_env.push_back("ECHELON_TEST_FAULT_STALL_S=" + stall_s);
  return o;
}

TEST(RegisterFaults, FailedCommitIsNotApplied) {
  REQUIRE_TEST_HOOKS();
  RunnerSession s(register_manifest(), with_fault("fail:COMMIT_REGISTER_CALLABLE"));
  const auto command = native_command(DISPATCHER, "session_noop");
  ASSERT_EQ(prepare(s, command).status, WireStatus::OK);
  const auto c = commit(s, DISPATCHER, command.kind, command.digest);
  EXPECT_EQ(c.status, WireStatus::FAILED);
  EXPECT_TRUE(contains(c.message, "injected fault")) << c.message;
  EXPECT_TRUE(contains(c.message, "control=COMMIT_REGISTER_CALLABLE")) << c.message;
  EXPECT_EQ(s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::NOT_FOUND);
  // The parent's rollback (callables.md 6 row 3) and a retry: only the first commit is faulted.
  EXPECT_EQ(digest_control(s, ControlName::ABORT_REGISTER_CALLABLE, DISPATCHER, command.kind, command.digest).status,
            WireStatus::OK);
  register_both_phases(s, command);
  EXPECT_EQ(s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
}

TEST(RegisterFaults, NthControlIsTheOneFaulted) {
  REQUIRE_TEST_HOOKS();
  RunnerSession s(register_manifest(), with_fault("fail:PREPARE_CALLABLE:2"));
  const Digest d = plugin_digest("session_check_inline_sum");
  const WireStatus expected[] = {WireStatus::OK, WireStatus::FAILED, WireStatus::OK};
  for (WireStatus want : expected) {
    const auto r = digest_control(s, ControlName::PREPARE_CALLABLE, DISPATCHER, CallableKind::NATIVE_IMPORT, d);
    EXPECT_EQ(r.status, want) << r.message;
  }
  EXPECT_EQ(run_usable_task(s).status(), WireStatus::OK);
}

// A parent's 300 ms deadline passes while the runner sleeps (nothing arrives on the lane); the
// reply still comes, late, and the control was applied after the stall.
TEST(RegisterFaults, StallOutlastsTheControlDeadline) {
  REQUIRE_TEST_HOOKS();
  RunnerSession s(register_manifest(), with_fault("stall:PREPARE_REGISTER_CALLABLE", "1.5"));
  const auto command = native_command(DISPATCHER, "session_noop");
  const auto start = transport::Clock::now();
  const uint64_t seq = s.send_control(ControlName::PREPARE_REGISTER_CALLABLE, wire::encode_register_command(command));
  EXPECT_FALSE(s.command_lane_readable(300ms)) << "the reply came before a 300 ms deadline";
  const auto late = s.await_control_reply(seq, ControlName::PREPARE_REGISTER_CALLABLE, REGISTER_TIMEOUT);
  EXPECT_EQ(late.status, WireStatus::OK) << late.message;
  EXPECT_GE(transport::Clock::now() - start, 1400ms) << "the runner did not stall";
  ASSERT_EQ(commit(s, DISPATCHER, command.kind, command.digest).status, WireStatus::OK);
  EXPECT_EQ(s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
}

TEST(RegisterFaults, MalformedFaultFailsStartup) {
  REQUIRE_TEST_HOOKS();
  for (const char* bad : {"explode:PREPARE_CALLABLE", "fail", "fail:NO_SUCH_CONTROL", "stall:PREPARE_CALLABLE:0"}) {
    const auto deadline = transport::Clock::now() + std::chrono::seconds(10);
    remote::RunnerLaunch launch;
    launch.deadline = deadline;
    launch.plugin_dirs = {ECHELON_SESSION_PLUGIN_DIR};
    launch.extra_env = {std::string("ECHELON_TEST_FAULT=") + bad};
    auto runner = remote::spawn_runner(ECHELON_SESSION_BINARY, remote::to_json(register_manifest()), launch);
    const auto status = runner.read_status(deadline);
    const auto* error = std::get_if<remote::ReplyError>(&status.outcome);
    ASSERT_NE(error, nullptr) << bad << " did not fail the startup";
    EXPECT_TRUE(contains(error->text(), "ECHELON_TEST_FAULT")) << error->text();
  }
}

// ---- Plugin paths -------------------------------------------------------------------------------

// A private plugin directory whose libescape.so is a symlink to the real test plugin outside it.
class EscapeDir {
 public:
  EscapeDir() {
    char tmpl[] = "/tmp/echelon-escape-XXXXXX";
    path_ = ::mkdtemp(tmpl);
    fs::create_symlink(fs::path(ECHELON_SESSION_PLUGIN_DIR) / "libsession_test.so", fs::path(path_) / "libescape.so");
  }
  ~EscapeDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PluginPaths, EscapesRefusedAtPrepare) {
  EscapeDir escape;
  RunnerLaunchOptions options;
  options.plugin_dirs = {escape.path(), ECHELON_SESSION_PLUGIN_DIR};
  RunnerSession s(register_manifest(), options);
  auto digest_of = [](const std::string& text) {
    return sha256(native_import_descriptor(NativeImportTarget::parse(text)));
  };
  struct Case {
    const char* name;
    std::string text;
    Digest digest;
    const char* says;
  };
  const std::string absolute = std::string(ECHELON_SESSION_PLUGIN_DIR) + "/libsession_test.so:session_noop";
  const Case cases[] = {
      {"absolute path", absolute, plugin_digest("session_noop"), "import text"},
      {"dot-dot", "../session_test:session_noop", plugin_digest("session_noop"), "import text"},
      {"symlink escape", "escape:session_noop", digest_of("escape:session_noop"), "outside"},
  };
  for (const Case& c : cases) {
    for (RemoteRegistryTarget target : {DISPATCHER, INNER}) {
      const auto r = prepare(s, import_text_command(target, CallableKind::NATIVE_IMPORT, c.text, c.digest));
      EXPECT_EQ(r.status, WireStatus::REJECTED) << c.name << ": " << r.message;
      EXPECT_TRUE(contains(r.message, c.says)) << c.name << ": " << r.message;
      EXPECT_EQ(commit(s, target, CallableKind::NATIVE_IMPORT, c.digest).status, WireStatus::NOT_FOUND) << c.name;
      EXPECT_EQ(run_usable_task(s).status(), WireStatus::OK) << "after " << c.name;
    }
  }
}

}  // namespace
}  // namespace echelon::session_test
