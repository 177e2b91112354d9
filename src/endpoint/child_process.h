// One forked child process, owned exactly once: it leads its own process group, dies with its
// parent, and is killed and reaped when its owner goes (RT-704, RT-709..711).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace echelon {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  ChildProcess() = default;
  // Forks; the child runs `child_main` and exits with its return value (never returns here).
  // Throws if the process has more than one thread (the fork guard) or fork fails.
  static ChildProcess spawn(const std::string& name, const std::function<int()>& child_main);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }
  bool valid() const { return pid_ > 0; }
  const std::string& name() const { return name_; }

  // Non-blocking: true once the child exited; `how` describes the exit.
  bool exited(std::string* how = nullptr);
  // Signals the child's whole process group.
  void signal_group(int sig) const;
  // Waits up to `grace` for a voluntary exit, then SIGTERM, then SIGKILL to the group; reaps.
  void terminate(std::chrono::duration<double> grace);

 private:
  void reap_now();
  std::string name_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
  std::string how_;
};

}  // namespace echelon
