#include "endpoint/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "core/process_info.h"
#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::string describe(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return fmt::format("exited with status {}", info.si_status);
  return fmt::format("was killed by signal {} ({})", info.si_status, strsignal(info.si_status));
}

}  // namespace

ChildProcess ChildProcess::spawn(const std::string& name, const std::function<int()>& child_main) {
  const int threads = process_thread_count();
  if (threads != 1)
    throw UsageError(fmt::format("fork guard: cannot start child '{}': this process has {} threads; echelon forks "
                                 "every child before any thread starts, so init() must run before other threads "
                                 "exist in this process", name, threads));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw Error(fmt::format("fork of child '{}' failed: {}", name, std::strerror(errno)));
  if (pid == 0) {
    // Child: lead a new process group (the parent signals the subtree as a unit), die with the
    // parent, and bail out if the parent already went before the death signal was armed.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(120);
    int code = 121;
    try {
      code = child_main();
    } catch (const std::exception& e) {
      fprintf(stderr, "echelon child '%s' failed: %s\n", name.c_str(), e.what());
    } catch (...) {
    }
    _exit(code);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we may signal it
  ChildProcess c;
  c.name_ = name;
  c.pid_ = pid;
  c.pidfd_ = pidfd_open(pid);
  if (c.pidfd_ < 0) {
    const int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    c.pid_ = -1;
    throw Error(fmt::format("pidfd_open for child '{}' failed: {}", name, std::strerror(err)));
  }
  return c;
}

ChildProcess::~ChildProcess() {
  if (valid() && !reaped_) terminate(std::chrono::duration<double>(0));
  if (pidfd_ >= 0) close(pidfd_);
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : name_(std::move(o.name_)), pid_(std::exchange(o.pid_, -1)), pidfd_(std::exchange(o.pidfd_, -1)),
      reaped_(o.reaped_), how_(std::move(o.how_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (valid() && !reaped_) terminate(std::chrono::duration<double>(0));
    if (pidfd_ >= 0) close(pidfd_);
    name_ = std::move(o.name_);
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::exchange(o.pidfd_, -1);
    reaped_ = o.reaped_;
    how_ = std::move(o.how_);
  }
  return *this;
}

bool ChildProcess::exited(std::string* how) {
  if (!valid()) return true;
  if (!reaped_) {
    siginfo_t info{};
    if (waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) return false;
    reaped_ = true;
    how_ = describe(info);
  }
  if (how) *how = how_;
  return true;
}

void ChildProcess::signal_group(int sig) const {
  // The group outlives its reaped leader while grandchildren live; its id is not reused until
  // the whole group is gone.
  if (valid()) kill(-pid_, sig);
}

void ChildProcess::reap_now() {
  if (reaped_ || !valid()) return;
  siginfo_t info{};
  if (waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED) == 0) how_ = describe(info);
  reaped_ = true;
}

void ChildProcess::terminate(std::chrono::duration<double> grace) {
  if (!valid()) return;
  if (reaped_) {
    signal_group(SIGKILL);  // the leader is gone; its group may not be
    return;
  }
  auto wait_exit = [&](std::chrono::duration<double> d) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(d);
    while (!exited()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{pidfd_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    }
    return true;
  };
  if (grace.count() > 0 && wait_exit(grace)) {
    signal_group(SIGKILL);  // grandchildren that outlived their leader
    return;
  }
  signal_group(SIGTERM);
  if (!wait_exit(std::chrono::duration<double>(grace.count() > 0 ? 5.0 : 0.05))) signal_group(SIGKILL);
  kill(pid_, SIGKILL);
  reap_now();
  signal_group(SIGKILL);
}

}  // namespace echelon
