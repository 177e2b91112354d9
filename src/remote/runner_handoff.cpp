#include "remote/runner_handoff.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "fmt/format.h"
#include "transport/transport_error.h"

extern char** environ;

namespace echelon::remote {
namespace {

// Every fd the child starts from is moved to >= this before fork, so dup2 onto 0/3/4/5 in the
// child can never clobber another source fd.
constexpr int HIGH_FD_FLOOR = 10;
constexpr int EXEC_ERROR_FD = 5;  // CLOEXEC: closed by a successful exec, carries errno otherwise

[[noreturn]] void spawn_fail(const std::string& what, int err = 0, bool timed_out = false) {
  throw RunnerSpawnError(err ? fmt::format("runner spawn: {}: {}", what, std::strerror(err)) : "runner spawn: " + what,
                         timed_out);
}

transport::Fd high_cloexec(int fd, const char* what) {
  transport::Fd owned(fd);
  if (!owned) spawn_fail(what, errno);
  const int high = fcntl(owned.get(), F_DUPFD_CLOEXEC, HIGH_FD_FLOOR);
  if (high < 0) spawn_fail(what, errno);
  return transport::Fd(high);
}

struct Pipe {
  transport::Fd read, write;
};

Pipe make_pipe(const char* what) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) spawn_fail(what, errno);
  transport::Fd r(fds[0]), w(fds[1]);
  return {high_cloexec(r.release(), what), high_cloexec(w.release(), what)};
}

std::string describe(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return fmt::format("exited with status {}", info.si_status);
  return fmt::format("was killed by signal {} ({})", info.si_status, strsignal(info.si_status));
}

void validate_launch(const std::string& runner_path, const RunnerLaunch& o) {
  if (runner_path.empty() || runner_path[0] != '/') spawn_fail(fmt::format("runner path '{}' must be absolute", runner_path));
  if (o.session_key.size() != 0 && o.session_key.size() != SESSION_KEY_BYTES)
    spawn_fail(fmt::format("session key is {} bytes, must be 0 or {}", o.session_key.size(), SESSION_KEY_BYTES));
  if (!std::isfinite(o.proof_timeout_s) || !(o.proof_timeout_s > 0) || o.proof_timeout_s > 60)
    spawn_fail(fmt::format("proof timeout {} is not in (0, 60]", o.proof_timeout_s));
  if (o.deadline <= transport::Clock::now()) spawn_fail("startup deadline already passed", 0, true);
  for (const std::string& dir : o.plugin_dirs)
    if (dir.empty() || dir[0] != '/') spawn_fail(fmt::format("plugin dir '{}' must be absolute", dir));
  for (const std::string& kv : o.extra_env)
    if (kv.find('=') == std::string::npos) spawn_fail(fmt::format("extra_env entry '{}' is not NAME=value", kv));
}

// The child's exec-error pipe: EOF (exec closed it) means success, 4 bytes are exec's errno.
int read_exec_errno(int fd, transport::Deadline deadline) {
  int err = 0;
  auto* buf = reinterpret_cast<uint8_t*>(&err);
  size_t got = 0;
  while (got < sizeof err) {
    if (transport::poll_fd(fd, POLLIN, deadline) == 0) spawn_fail("runner did not exec before the deadline", 0, true);
    const ssize_t r = ::read(fd, buf + got, sizeof err - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got == sizeof err ? err : 0;
}

// Runs in the forked child: async-signal-safe calls only (the parent may have had other threads,
// whose locks are frozen in the copy), then exec. Never returns.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, int devnull, int handoff_r,
                             int status_w, int exec_err_w) {
  // Default dispositions first, then unblock: a handler inherited from the daemon must never run
  // in this half-copied process (POSIX_SPAWN_SETSIGDEF / SETSIGMASK semantics).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t empty;
  sigemptyset(&empty);
  setpgid(0, 0);
  int err = 0;
  // The runner writes nothing to stdout, but libraries it loads may (UCX logs there): their lines
  // join the daemon's log on stderr rather than a stdout nobody reads, whose closed pipe would
  // kill the runner with SIGPIPE.
  if (dup2(devnull, 0) < 0 || dup2(2, 1) < 0 || dup2(handoff_r, HANDOFF_FD) < 0 || dup2(status_w, STATUS_FD) < 0 ||
      dup2(exec_err_w, EXEC_ERROR_FD) < 0 || fcntl(EXEC_ERROR_FD, F_SETFD, FD_CLOEXEC) < 0)
    err = errno;
  if (err == 0 && syscall(SYS_close_range, EXEC_ERROR_FD + 1, ~0U, 0) != 0) {
    // Kernels before 5.9: close one by one up to the descriptor limit.
    rlimit lim{};
    const int max_fd = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                           ? static_cast<int>(lim.rlim_cur) : 65536;
    for (int fd = EXEC_ERROR_FD + 1; fd < max_fd; ++fd) close(fd);
  }
  if (err == 0) {
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    execve(path, argv, envp);
    err = errno;
  }
  const ssize_t ignored = write(EXEC_ERROR_FD, &err, sizeof err);
  (void)ignored;
  _exit(127);
}

}  // namespace

RunnerProcess spawn_runner(const std::string& runner_path, const std::string& manifest_json, const RunnerLaunch& o) {
  // Everything that can be refused is refused before the first pipe exists (lessons #1426).
  parse_manifest(manifest_json, o.policy);
  validate_launch(runner_path, o);

  RunnerArgs args{HANDOFF_FD, STATUS_FD, o.bind_ip, o.deadline, o.proof_timeout_s, o.plugin_dirs};
  std::vector<std::string> arg_strings = runner_arguments(args);
  arg_strings.insert(arg_strings.begin(), runner_path);
  std::vector<char*> argv;
  for (std::string& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings(o.extra_env);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) envp.push_back(*e);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::vector<uint8_t> handoff = encode_handoff(manifest_json, o.session_key);

  Pipe handoff_pipe = make_pipe("handoff pipe");
  Pipe status_pipe = make_pipe("status pipe");
  Pipe exec_err = make_pipe("exec-error pipe");
  transport::Fd devnull = high_cloexec(::open("/dev/null", O_RDONLY | O_CLOEXEC), "open /dev/null");

  // Block every signal across fork so no daemon handler runs in the child before it resets them.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = fork();
  if (pid == 0)
    exec_child(argv[0], argv.data(), envp.data(), devnull.get(), handoff_pipe.read.get(), status_pipe.write.get(),
               exec_err.write.get());
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) spawn_fail("fork", fork_errno);

  RunnerProcess runner;  // owns the child from here: any throw below kills and reaps it
  runner.pid_ = pid;
  // Also from the parent, so the group exists before anyone signals it; EACCES after the child's
  // exec means the child already did it.
  setpgid(pid, pid);
  runner.pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!runner.pidfd_) spawn_fail("pidfd_open", errno);
  runner.status_ = std::move(status_pipe.read);
  handoff_pipe.read.reset();
  status_pipe.write.reset();
  exec_err.write.reset();
  devnull.reset();

  const int child_errno = read_exec_errno(exec_err.read.get(), o.deadline);
  if (child_errno != 0) spawn_fail(fmt::format("exec of '{}'", runner_path), child_errno);

  try {
    write_all_bounded(handoff_pipe.write.get(), handoff, o.deadline, "handoff");
  } catch (const HandoffError& e) {
    spawn_fail(fmt::format("runner did not take the handoff: {}", e.what()), 0, e.timed_out());
  }
  handoff_pipe.write.reset();  // EOF ends the runner's read of the handoff
  return runner;
}

RunnerProcess::~RunnerProcess() { reset(); }

void RunnerProcess::reset() noexcept {
  if (valid() && !reaped_) terminate(std::chrono::duration<double>(0));
  pid_ = -1;
  pidfd_.reset();
  status_.reset();
  reaped_ = false;
  how_.clear();
}

RunnerProcess::RunnerProcess(RunnerProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), status_(std::move(o.status_)),
      reaped_(std::exchange(o.reaped_, false)), how_(std::move(o.how_)) {}

RunnerProcess& RunnerProcess::operator=(RunnerProcess&& o) noexcept {
  if (this != &o) {
    reset();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    status_ = std::move(o.status_);
    reaped_ = std::exchange(o.reaped_, false);
    how_ = std::move(o.how_);
  }
  return *this;
}

RunnerStatus RunnerProcess::read_status(transport::Deadline deadline) {
  try {
    if (auto status = remote::read_status(status_.get(), deadline)) return *status;
    return {make_reply_error(ReplyErrorType::StartupError, "runner exited before reporting")};
  } catch (const HandoffError& e) {
    if (e.timed_out()) return {make_reply_error(ReplyErrorType::TimeoutError, "runner not ready within the startup budget")};
    return {make_reply_error(ReplyErrorType::StartupError, e.what())};
  } catch (const std::exception& e) {
    return {make_reply_error(ReplyErrorType::DaemonError, e.what())};
  }
}

bool RunnerProcess::exited(std::string* how) {
  if (!valid()) return true;
  if (!reaped_) {
    siginfo_t info{};
    if (waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) return false;
    reaped_ = true;
    how_ = describe(info);
  }
  if (how) *how = how_;
  return true;
}

void RunnerProcess::kill_group(int sig) const {
  // A reaped leader's group id stays reserved while any member lives, so this never hits a
  // stranger.
  if (valid()) ::kill(-pid_, sig);
}

bool RunnerProcess::wait_exit(transport::Deadline deadline) {
  while (!exited()) {
    if (transport::Clock::now() >= deadline) return false;
    try {
      transport::poll_fd(pidfd_.get(), POLLIN, deadline);
    } catch (const std::exception&) {
      return exited();
    }
  }
  return true;
}

void RunnerProcess::terminate(std::chrono::duration<double> grace) {
  if (!valid()) return;
  if (!reaped_) {
    kill_group(SIGTERM);
    wait_exit(transport::Clock::now() + std::chrono::duration_cast<transport::Clock::duration>(grace));
  }
  kill_group(SIGKILL);  // the leader's stragglers, or the leader itself
  if (!reaped_) {
    siginfo_t info{};
    while (waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0 && errno == EINTR) {
    }
    how_ = describe(info);
    reaped_ = true;
  }
}

}  // namespace echelon::remote
