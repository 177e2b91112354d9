#include "transport/fd.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "transport/deadline.h"
#include "transport/transport_error.h"

namespace echelon::transport {

void Fd::reset(int fd) noexcept {
  // close() is not retried on EINTR: on Linux the descriptor is released either way.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

short poll_fd(int fd, short events, Deadline deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    const int n = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (n > 0) return p.revents;
    if (n == 0) {
      if (Clock::now() >= deadline) return 0;
      continue;  // woke a little early (rounding); wait for the rest
    }
    if (errno != EINTR) throw_errno("poll", errno);
  }
}

}  // namespace echelon::transport
