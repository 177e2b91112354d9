// Remote session lifecycle end to end: health through a long task, a missed startup deadline that
// leaves nothing behind, and repeated sessions that leak neither descriptors nor runners.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

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
