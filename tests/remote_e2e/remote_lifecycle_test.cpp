// Remote session lifecycle end to end: health through a long task, a missed startup deadline that
// leaves nothing behind, and repeated sessions that leak neither descriptors nor runners.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <sstream>

#include "daemon_fixture.h"
#include "echelon/worker.h"
#include "remote_e2e_helpers.h"

namespace echelon::remote_e2e {
namespace {

using Clock = std::chrono::steady_clock;

size_t open_fd_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) throw std::runtime_error("cannot list /proc/self/fd");
  size_t n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;  // includes the descriptor of `dir` itself, the same on every call
}

// A "daemon" that takes connections (the kernel completes them into the backlog) and never
// answers: the bootstrap can only end by its deadline.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("the silent listener could not listen on 127.0.0.1");
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// The deadline can cut the start-up in the parent (a read timed out) or in the daemon (before or
// while the runner starts); each phase says so in its own words.
bool names_startup_deadline(const std::string& err) {
  for (const char* phrase : {"timed out", "startup deadline", "startup budget"})
    if (err.find(phrase) != std::string::npos) return true;
  return false;
}

class RemoteLifecycle : public DaemonTest {
 protected:
  // Opens one session, runs one no-op remote task, closes; the error text, empty on success.
  std::string one_session_round_trip() {
    Worker w(4, parent_options());
    const WorkerId id = w.add_remote_worker(spec_for(daemon));
    const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
    if (std::string err = init_error(w); !err.empty()) return err;
    std::string err =
        run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{0}), {}, id); });
    w.close();
    return err;
  }
};

TEST_F(RemoteLifecycle, HealthStaysLiveDuringLongTask) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(fast_health_spec_for(daemon));
  const auto sleep_ms = w.register_callable(plugin_entry("session_sleep_ms"), {id});
  w.init();
  const auto start = Clock::now();
  // 1.2 s is four expiries: the runner's health lane must keep beating while the entry runs.
  const std::string err =
      run_error(w, [&](Orchestrator& o) { o.submit_next_level(sleep_ms, TaskArgs().scalar(uint64_t{1200}), {}, id); });
  EXPECT_EQ(err, "");
  EXPECT_GE(Clock::now() - start, 1200ms) << "the entry did not sleep";
  EXPECT_TRUE(w.health(id).ready) << w.health(id).reason;
}

TEST_F(RemoteLifecycle, StartupDeadlineExceededRollsBackWithNoOrphan) {
  {
    Worker w(4, parent_options());
    RemoteWorkerSpec spec = spec_for(daemon);
    spec.startup_timeout_s = 0.001;  // far less than a runner needs to exec, load and say HELLO
    w.add_remote_worker(spec);
    w.register_callable(plugin_entry("session_check_inline_sum"), {0});
    const std::string err = init_error(w);
    EXPECT_NE(err.find("remote worker 0 at 127.0.0.1:" + std::to_string(daemon.port())), std::string::npos) << err;
    EXPECT_TRUE(names_startup_deadline(err)) << err;
  }
  // Whatever phase the deadline cut, the runner (if one started) does not outlive its budget.
  EXPECT_TRUE(wait_until([&] { return daemon.runners().empty(); }, 5000ms)) << "an orphan runner remains";
  EXPECT_EQ(one_session_round_trip(), "") << "the daemon no longer serves sessions";
}

TEST(RemoteLifecycleSilentDaemon, StartupDeadlineNamesWorkerWhenDaemonNeverAnswers) {
  SilentListener silent;
  Worker w(4, parent_options());
  RemoteWorkerSpec spec;
  spec.port = silent.port();
  spec.startup_timeout_s = 0.3;
  w.add_remote_worker(spec);
  const auto start = Clock::now();
  const std::string err = init_error(w);
  EXPECT_LT(Clock::now() - start, 5s) << "the startup deadline did not bound init";
  EXPECT_NE(err.find("remote worker 0 at 127.0.0.1:" + std::to_string(silent.port())), std::string::npos) << err;
  EXPECT_NE(err.find("bootstrap failed"), std::string::npos) << err;
  EXPECT_NE(err.find("timed out"), std::string::npos) << err;
}

// User plus system CPU time of `pid` so far, in ms (/proc/<pid>/stat fields 14 and 15).
double cpu_ms_of(int pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) throw std::runtime_error("cannot read the stat of process " + std::to_string(pid));
  char buf[1024] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string stat(buf, n);
  // Fields after the command name, which is in parentheses and may contain spaces.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// An attached, idle session costs next to no CPU on either side: every lane sleeps on its
// descriptor (on ucx, the UCP worker's event fd) and only the HEALTH beat (every 50 ms here)
// wakes anything. A spinning lane would burn a whole core.
TEST_F(RemoteLifecycle, IdleLanesDoNotSpin) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  w.init();
  ASSERT_TRUE(w.health(id).ready);
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // attach traffic settles
  const double parent0 = cpu_ms_of(::getpid()), runner0 = cpu_ms_of(runner);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double parent_ms = cpu_ms_of(::getpid()) - parent0, runner_ms = cpu_ms_of(runner) - runner0;
  std::printf("[ idle     ] %s session over 1 s: parent %.0f ms CPU, runner %.0f ms CPU\n", test_profile().c_str(),
              parent_ms, runner_ms);
  EXPECT_LT(parent_ms, 200) << "the parent spins while its session is idle";
  EXPECT_LT(runner_ms, 200) << "the runner spins while its session is idle";
  EXPECT_TRUE(w.health(id).ready);
  w.close();
}

TEST_F(RemoteLifecycle, TenSessionsOpenAndCloseWithoutLeaks) {
  // One warm-up session first: anything opened once per process (logging, caches) is not a leak.
  ASSERT_EQ(one_session_round_trip(), "");
  ASSERT_TRUE(wait_until([&] { return daemon.runners().empty(); }));
  const size_t baseline = open_fd_count();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(one_session_round_trip(), "") << "session " << i;
  EXPECT_LE(open_fd_count(), baseline) << "descriptors leaked over ten sessions";
  EXPECT_TRUE(wait_until([&] { return daemon.runners().empty(); })) << "runners left after ten sessions";
}

}  // namespace
}  // namespace echelon::remote_e2e
