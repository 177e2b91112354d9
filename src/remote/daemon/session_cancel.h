// Lets the daemon's main thread interrupt a session that is still bootstrapping when the daemon
// shuts down. Every wait of a session is bounded by a deadline, but the runner's startup budget
// can be long; cancel() makes those waits end now: it shuts the client socket down (reads and
// writes fail at once) and sends SIGTERM to the runner group being waited for (its status pipe
// reaches EOF). The session thread still owns both; this only holds their numbers, under a lock,
// for exactly as long as they are valid.
#pragma once

#include <sys/types.h>

#include <mutex>

namespace echelon::remote::daemon {

class SessionCancel {
 public:
  // The session's connected socket (valid until detach_socket()).
  void attach_socket(int fd);
  void detach_socket();
  // The runner whose status is being awaited; false when already cancelled (the caller then
  // disposes of the runner itself). The runner must stay unreaped until detach_runner().
  bool attach_runner(pid_t pgid);
  void detach_runner();

  bool cancelled() const;
  void cancel();

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  int socket_fd_ = -1;
  pid_t runner_pgid_ = -1;
};

}  // namespace echelon::remote::daemon
