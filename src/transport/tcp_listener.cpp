#include "transport/tcp_listener.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "transport/transport_error.h"

namespace echelon::transport {

TcpListener TcpListener::listen(const EndpointAddress& address, int backlog) {
  const std::string where = "listen on " + address.to_string();
  sockaddr_storage ss{};
  const socklen_t len = address.to_sockaddr(ss);
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno(where + ": socket", errno);
  // A restarted daemon must be able to rebind while old connections sit in TIME_WAIT.
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    throw_errno(where + ": setsockopt(SO_REUSEADDR)", errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) < 0) throw_errno(where + ": bind", errno);
  if (::listen(fd.get(), backlog) < 0) throw_errno(where + ": listen", errno);
  return TcpListener(std::move(fd));
}

EndpointAddress TcpListener::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) throw_errno("getsockname", errno);
  return EndpointAddress::from_sockaddr(ss);
}

std::optional<TcpSocket> TcpListener::try_accept() {
  while (true) {
    const int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return TcpSocket(Fd(fd));
    // A connection reset before we took it is that peer's problem, not the listener's.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    throw_errno("accept on " + local_address().to_string(), errno);
  }
}

TcpSocket TcpListener::accept(Deadline deadline) {
  while (true) {
    if (auto sock = try_accept()) return std::move(*sock);
    if (poll_fd(fd_.get(), POLLIN, deadline) == 0)
      throw TransportError(TransportErrc::TIMEOUT,
                           "accept on " + local_address().to_string() + ": no connection before the deadline");
  }
}

}  // namespace echelon::transport
