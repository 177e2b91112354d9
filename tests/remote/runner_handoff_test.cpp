#include "remote/runner_handoff.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "remote_test_support.h"

namespace echelon::remote {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string kRunner = ECHELON_FAKE_RUNNER_PATH;

struct Report {
  std::string path = test::temp_path("report.json");
  ~Report() { ::unlink(path.c_str()); }
  bool exists() const {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
  // The runner writes it atomically; wait for it to appear.
  json wait() const {
    const auto end = transport::Clock::now() + 5s;
    while (!exists() && transport::Clock::now() < end) std::this_thread::sleep_for(5ms);
    std::ifstream in(path);
    return json::parse(in);
  }
};

RunnerLaunch launch(const Report& report, const std::string& mode, std::chrono::milliseconds budget = 5000ms) {
  RunnerLaunch l;
  l.bind_ip = "127.0.0.1";
  l.deadline = transport::Clock::now() + budget;
  l.plugin_dirs = {"/tmp"};
  l.extra_env = {"ECHELON_FAKE_RUNNER_MODE=" + mode, "ECHELON_FAKE_RUNNER_REPORT=" + report.path};
  return l;
}

bool process_gone(pid_t pid) {
  // Gone, or a zombie of some other reaper (the test is not its parent any more).
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

bool wait_gone(pid_t pid) {
  const auto end = transport::Clock::now() + 3s;
  while (!process_gone(pid)) {
    if (transport::Clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string sha256_hex(const std::string& s) {
  return to_hex(sha256({reinterpret_cast<const uint8_t*>(s.data()), s.size()}));
}

TEST(RunnerHandoff, ManifestArrivesIntactInASingleThreadedRunnerInItsOwnGroup) {
  // Run the spawn from a process that has other threads, as the daemon does.
  std::thread bystander([] { std::this_thread::sleep_for(300ms); });
  const std::string manifest = test::valid_manifest_json().dump();
  Report report;
  RunnerLaunch l = launch(report, "ready");
  l.session_key.assign(32, 0xab);
  RunnerProcess runner = spawn_runner(kRunner, manifest, l);
  bystander.join();
  ASSERT_TRUE(runner.valid());
  const RunnerStatus status = runner.read_status(l.deadline);
  ASSERT_TRUE(status.ok()) << std::get<ReplyError>(status.outcome).text();
  EXPECT_EQ(std::get<LaneAddresses>(status.outcome).command_port, 1);

  const json r = report.wait();
  EXPECT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["threads_at_start"], 1);
  EXPECT_EQ(r["threads_at_read"], 1);
  EXPECT_EQ(r["manifest_sha256"], sha256_hex(manifest));
  EXPECT_EQ(r["session_key_hex"], to_hex(l.session_key));
  EXPECT_EQ(r["pgid"], r["pid"]);
  EXPECT_EQ(r["pid"], runner.pid());
  EXPECT_EQ(r["fds_at_start"], json::array({0, 1, 2, 3, 4}));
  EXPECT_EQ(r["bind_ip"], "127.0.0.1");
  EXPECT_EQ(r["deadline_ns"], to_monotonic_ns(l.deadline));
  EXPECT_EQ(r["plugin_dirs"], json::array({"/tmp"}));
  // Nothing secret on the command line.
  for (const auto& arg : r["argv"]) EXPECT_EQ(arg.get<std::string>().find(to_hex(l.session_key)), std::string::npos);

  std::string how;
  const auto end = transport::Clock::now() + 5s;
  while (!runner.exited(&how) && transport::Clock::now() < end) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(how, "exited with status 0");
}

TEST(RunnerHandoff, ManifestLargerThanThePipeBufferArrivesIntact) {
  json doc = test::valid_manifest_json();
  doc["inner_l3_worker"].push_back(test::chip_entry(1u << 20, 0x33));  // > 2 MiB of hex
  const std::string manifest = doc.dump();
  Report report;
  RunnerLaunch l = launch(report, "ready");
  RunnerProcess runner = spawn_runner(kRunner, manifest, l);
  EXPECT_TRUE(runner.read_status(l.deadline).ok());
  EXPECT_EQ(report.wait()["manifest_sha256"], sha256_hex(manifest));
}

TEST(RunnerHandoff, InvalidManifestSpawnsNothing) {
  json doc = test::valid_manifest_json();
  doc["num_chips"] = 65;
  Report report;
  const auto fds_before = test::open_fds();
  ASSERT_TRUE(test::has_no_children());
  try {
    spawn_runner(kRunner, doc.dump(), launch(report, "ready"));
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.path(), "manifest.num_chips");
  }
  EXPECT_TRUE(test::has_no_children());
  EXPECT_EQ(test::open_fds(), fds_before);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(report.exists());
}

TEST(RunnerHandoff, TimeoutsValidatedBeforeResources) {
  const auto fds_before = test::open_fds();
  struct Row {
    const char* key;
    json value;
  };
  const Row rows[] = {{"startup_budget_s", 0},      {"startup_budget_s", -1},  {"health_interval_s", -1},
                      {"health_expiry_s", 0.1},     {"shutdown_timeout_s", 0}, {"startup_budget_s", 1e6}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.key);
    json doc = test::valid_manifest_json();
    doc[row.key] = row.value;
    Report report;
    try {
      spawn_runner(kRunner, doc.dump(), launch(report, "ready"));
      ADD_FAILURE() << "spawned";
    } catch (const ManifestError& e) {
      EXPECT_EQ(e.path(), std::string("manifest.") + row.key);
    }
  }
  // "1e999" is a JSON number that overflows to infinity: refused as not finite.
  std::string text = test::valid_manifest_json().dump();
  text.replace(text.find("\"startup_budget_s\":30"), 21, "\"startup_budget_s\":1e999");
  Report report;
  EXPECT_THROW(spawn_runner(kRunner, text, launch(report, "ready")), ManifestError);
  // The launch's own deadline and proof timeout are checked before anything exists too.
  RunnerLaunch expired = launch(report, "ready");
  expired.deadline = transport::Clock::now() - 1ms;
  EXPECT_THROW(spawn_runner(kRunner, test::valid_manifest_json().dump(), expired), RunnerSpawnError);
  RunnerLaunch bad_proof = launch(report, "ready");
  bad_proof.proof_timeout_s = 0;
  EXPECT_THROW(spawn_runner(kRunner, test::valid_manifest_json().dump(), bad_proof), RunnerSpawnError);
  RunnerLaunch bad_key = launch(report, "ready");
  bad_key.session_key.assign(31, 1);
  EXPECT_THROW(spawn_runner(kRunner, test::valid_manifest_json().dump(), bad_key), RunnerSpawnError);
  EXPECT_TRUE(test::has_no_children());
  EXPECT_EQ(test::open_fds(), fds_before);
}

TEST(RunnerHandoff, ExecFailureIsReportedAndReaped) {
  Report report;
  const auto fds_before = test::open_fds();
  try {
    spawn_runner("/nonexistent/echelon-l3-session", test::valid_manifest_json().dump(), launch(report, "ready"));
    FAIL();
  } catch (const RunnerSpawnError& e) {
    EXPECT_NE(std::string(e.what()).find("exec of '/nonexistent/echelon-l3-session': No such file"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(test::has_no_children());
  EXPECT_EQ(test::open_fds(), fds_before);
}

TEST(RunnerHandoff, RunnerThatNeverReadsTimesOutAndIsReaped) {
  json doc = test::valid_manifest_json();
  doc["inner_l3_worker"].push_back(test::chip_entry(1u << 20));
  Report report;
  const auto start = transport::Clock::now();
  try {
    spawn_runner(kRunner, doc.dump(), launch(report, "no_read", 300ms));
    FAIL();
  } catch (const RunnerSpawnError& e) {
    EXPECT_TRUE(e.timed_out()) << e.what();
  }
  EXPECT_LT(transport::Clock::now() - start, 3s);
  EXPECT_TRUE(test::has_no_children());
}

TEST(RunnerHandoff, StatusOutcomes) {
  const std::string manifest = test::valid_manifest_json().dump();
  {
    Report report;
    RunnerLaunch l = launch(report, "fail");
    RunnerProcess runner = spawn_runner(kRunner, manifest, l);
    const RunnerStatus s = runner.read_status(l.deadline);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(std::get<ReplyError>(s.outcome).text(), "StartupError: fake prestart failed");
  }
  {
    Report report;
    RunnerLaunch l = launch(report, "silent");
    RunnerProcess runner = spawn_runner(kRunner, manifest, l);
    EXPECT_EQ(std::get<ReplyError>(runner.read_status(l.deadline).outcome).text(),
              "StartupError: runner exited before reporting");
  }
  {
    Report report;
    RunnerLaunch l = launch(report, "hang_no_status");
    RunnerProcess runner = spawn_runner(kRunner, manifest, l);
    const auto s = runner.read_status(transport::Clock::now() + 200ms);
    EXPECT_EQ(std::get<ReplyError>(s.outcome).type, ReplyErrorType::TimeoutError);
    const pid_t pid = runner.pid();
    runner.terminate(1s);
    EXPECT_TRUE(runner.exited());
    EXPECT_TRUE(process_gone(pid));
  }
  EXPECT_TRUE(test::has_no_children());
}

TEST(RunnerHandoff, KillingTheGroupKillsRunnerAndItsChildren) {
  Report report;
  RunnerLaunch l = launch(report, "hang_with_child");
  RunnerProcess runner = spawn_runner(kRunner, test::valid_manifest_json().dump(), l);
  ASSERT_TRUE(runner.read_status(l.deadline).ok());
  const pid_t grandchild = report.wait()["grandchild"].get<pid_t>();
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(getpgid(grandchild), runner.pid());
  runner.kill_group(SIGKILL);
  std::string how;
  const auto end = transport::Clock::now() + 3s;
  while (!runner.exited(&how) && transport::Clock::now() < end) std::this_thread::sleep_for(2ms);
  EXPECT_NE(how.find("killed by signal 9"), std::string::npos) << how;
  EXPECT_TRUE(wait_gone(grandchild));
}

TEST(RunnerHandoff, TerminateSendsSigtermFirstAndReaps) {
  Report report;
  RunnerLaunch l = launch(report, "hang");
  RunnerProcess runner = spawn_runner(kRunner, test::valid_manifest_json().dump(), l);
  ASSERT_TRUE(runner.read_status(l.deadline).ok());
  runner.terminate(RUNNER_KILL_GRACE);
  std::string how;
  EXPECT_TRUE(runner.exited(&how));
  EXPECT_NE(how.find("killed by signal 15"), std::string::npos) << how;
  runner.terminate();  // idempotent
  EXPECT_TRUE(test::has_no_children());
}

TEST(RunnerHandoff, DestructorKillsAndReapsExactlyOnce) {
  pid_t pid = -1;
  {
    Report report;
    RunnerLaunch l = launch(report, "hang");
    RunnerProcess runner = spawn_runner(kRunner, test::valid_manifest_json().dump(), l);
    ASSERT_TRUE(runner.read_status(l.deadline).ok());
    pid = runner.pid();
    RunnerProcess owner = std::move(runner);  // ownership moves; the moved-from object owns nothing
    EXPECT_FALSE(runner.valid());
    EXPECT_EQ(owner.pid(), pid);
  }
  EXPECT_TRUE(test::has_no_children());  // reaped: not even a zombie is left
  EXPECT_TRUE(process_gone(pid));
}

}  // namespace
}  // namespace echelon::remote
