// LocalDaemon: the daemon launcher of the main job and the benchmarks. Real processes only.
#include "remote/local_daemon.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "proc_probe.h"

namespace echelon::remote {
namespace {

using namespace std::chrono_literals;
using testing::process_alive;

bool gone_within(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process_alive(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

LocalDaemonOptions insecure() {
  LocalDaemonOptions o;
  o.binary = ECHELON_REMOTE_WORKER_PATH;
  o.session_binary = ECHELON_FAKE_RUNNER_PATH;
  o.log_level = "error";
  return o;
}

TEST(LocalDaemon, ReportsItsPortAndStopsCleanly) {
  LocalDaemon d(insecure());
  EXPECT_NE(d.port(), 0);
  const pid_t pid = d.pid();
  ASSERT_TRUE(process_alive(pid));
  EXPECT_TRUE(d.stop());
  EXPECT_FALSE(process_alive(pid));
  EXPECT_TRUE(d.stop());  // idempotent
}

TEST(LocalDaemon, AuthenticatedWithAnEphemeralSecret) {
  std::string path;
  {
    EphemeralSecretFile secret;
    path = secret.path();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_size, 48);
    LocalDaemonOptions o = insecure();
    o.auth_secret_file = path;
    LocalDaemon d(o);  // the daemon refuses to start on a secret file it cannot use
    EXPECT_NE(d.port(), 0);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path).parent_path()));
}

TEST(LocalDaemon, StartFailureNamesTheBinaryAndLeavesNothing) {
  LocalDaemonOptions o = insecure();
  o.listen = "not-an-address";
  try {
    LocalDaemon d(o);
    FAIL() << "a daemon with an invalid --listen started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(ECHELON_REMOTE_WORKER_PATH), std::string::npos) << e.what();
  }
  EXPECT_TRUE(testing::live_children(::getpid()).empty());
}

TEST(LocalDaemon, DoesNotOutliveAStarterKilledBySigkill) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    ::close(pipe_fds[0]);
    try {
      LocalDaemon d(insecure());
      const pid_t pid = d.pid();
      (void)!::write(pipe_fds[1], &pid, sizeof pid);
      ::pause();  // killed by the test
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(pipe_fds[1]);
  pid_t daemon = -1;
  ASSERT_EQ(::read(pipe_fds[0], &daemon, sizeof daemon), static_cast<ssize_t>(sizeof daemon));
  ::close(pipe_fds[0]);
  ASSERT_TRUE(process_alive(daemon));
  ::kill(starter, SIGKILL);
  ::waitpid(starter, nullptr, 0);
  // The daemon is reparented (to init or a subreaper), which reaps it once it exits.
  EXPECT_TRUE(gone_within(daemon, 10s)) << "daemon " << daemon << " outlived its starter";
  if (process_alive(daemon)) ::kill(daemon, SIGKILL);
}

}  // namespace
}  // namespace echelon::remote
