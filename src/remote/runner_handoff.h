// Daemon -> runner handoff (runtime.md RT-901, RT-903, RT-911): one fresh `echelon-l3-session`
// per session, started by fork + immediate exec in its own process group, with the validated
// manifest and the session key on an inherited pipe (fd 3) and a status pipe (fd 4); nothing else
// is inherited except stdin (/dev/null), stdout and stderr. Safe to call from a threaded daemon:
// the child runs only async-signal-safe calls between fork and exec.
#pragma once

#include "core/process_info.h"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "remote/bootstrap_reply.h"
#include "remote/handoff_io.h"
#include "remote/manifest.h"
#include "remote/runner_args.h"
#include "transport/fd.h"

namespace echelon::remote {

inline constexpr std::chrono::seconds RUNNER_KILL_GRACE{5};  // SIGTERM, then SIGKILL (RT-903)

struct RunnerLaunch {
  std::string bind_ip = "127.0.0.1";
  // One absolute deadline: manifest receipt + startup_budget_s (the caller computes it once).
  transport::Deadline deadline{};
  double proof_timeout_s = 5.0;
  std::vector<std::string> plugin_dirs;
  std::vector<uint8_t> session_key;  // empty, or 32 bytes with authentication
  ManifestPolicy policy;             // what this daemon build serves (ucx)
  // Added to the daemon's environment for the runner. The daemon passes none; tests use it to
  // steer a fake runner. Never put a secret here (RT-1005).
  std::vector<std::string> extra_env;
};

// Spawn failed: invalid launch, fork/exec/pipe failure, or the runner did not take the handoff
// within the deadline. Maps to the reply's DaemonError (TimeoutError when timed_out()).
class RunnerSpawnError : public Error {
 public:
  RunnerSpawnError(const std::string& message, bool timed_out) : Error(message), timed_out_(timed_out) {}
  bool timed_out() const { return timed_out_; }

 private:
  bool timed_out_;
};

// One runner, owned exactly once: movable, not copyable; the destructor kills its process group
// and reaps it. The daemon hands it to its reaper (by move) after the reply is sent.
class RunnerProcess {
 public:
  RunnerProcess() = default;
  ~RunnerProcess();
  RunnerProcess(RunnerProcess&& other) noexcept;
  RunnerProcess& operator=(RunnerProcess&& other) noexcept;
  RunnerProcess(const RunnerProcess&) = delete;
  RunnerProcess& operator=(const RunnerProcess&) = delete;

  bool valid() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Polls readable when the runner exits (for the daemon's reaper loop).
  int pidfd() const { return pidfd_.get(); }
  // Read end of the runner's status pipe.
  int status_fd() const { return status_.get(); }

  // Reads the runner's status; never throws. EOF before a message becomes "StartupError: runner
  // exited before reporting", the deadline "TimeoutError: ...", a malformed message StartupError.
  RunnerStatus read_status(transport::Deadline deadline);

  // Non-blocking: true once the runner exited and was reaped; `how` describes the exit.
  bool exited(std::string* how = nullptr);
  // Signals the runner's whole process group (its inner workers included).
  void kill_group(int sig) const;
  // SIGTERM to the group, SIGKILL to the group after `grace` (or at once when the leader exited),
  // then reap. Idempotent.
  void terminate(std::chrono::duration<double> grace = RUNNER_KILL_GRACE);

 private:
  friend RunnerProcess spawn_runner(const std::string&, const std::string&, const RunnerLaunch&);
  bool wait_exit(transport::Deadline deadline);
  void reset() noexcept;
  pid_t pid_ = -1;
  transport::Fd pidfd_;
  transport::Fd status_;
  bool reaped_ = false;
  std::string how_;
};

// Validates the launch and the manifest completely (parse_manifest with `opts.policy`) before
// creating any pipe or process, then forks and execs `runner_path` with the RT-911 argv and writes
// the handoff within `opts.deadline`. Throws ManifestError (nothing created) or RunnerSpawnError
// (anything created is already killed and reaped).
RunnerProcess spawn_runner(const std::string& runner_path, const std::string& manifest_json, const RunnerLaunch& opts);

// The runner checks it is still single-threaded before the handoff (RT-911).
using ::echelon::process_thread_count;

}  // namespace echelon::remote
