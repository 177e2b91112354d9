#include "remote/daemon/session_cancel.h"

#include <sys/socket.h>

#include <csignal>

namespace echelon::remote::daemon {

void SessionCancel::attach_socket(int fd) {
  std::lock_guard lock(mutex_);
  socket_fd_ = fd;
  if (cancelled_) ::shutdown(fd, SHUT_RDWR);
}

void SessionCancel::detach_socket() {
  std::lock_guard lock(mutex_);
  socket_fd_ = -1;
}

bool SessionCancel::attach_runner(pid_t pgid) {
  std::lock_guard lock(mutex_);
  if (cancelled_) return false;
  runner_pgid_ = pgid;
  return true;
}

void SessionCancel::detach_runner() {
  std::lock_guard lock(mutex_);
  runner_pgid_ = -1;
}

bool SessionCancel::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void SessionCancel::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  // Both numbers are still owned by the session thread (it detaches before closing or reaping),
  // so neither can name a recycled descriptor or process group here.
  if (socket_fd_ >= 0) ::shutdown(socket_fd_, SHUT_RDWR);
  if (runner_pgid_ > 0) ::kill(-runner_pgid_, SIGTERM);
}

}  // namespace echelon::remote::daemon
