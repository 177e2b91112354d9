#include "transport/tcp_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "transport/transport_error.h"

namespace echelon::transport {
namespace {

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

void make_nonblocking_cloexec(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw_errno("fcntl(O_NONBLOCK)", errno);
  const int fdfl = ::fcntl(fd, F_GETFD);
  if (fdfl < 0 || ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) throw_errno("fcntl(FD_CLOEXEC)", errno);
}

TcpSocket::TcpSocket(Fd fd) : fd_(std::move(fd)) {
  make_nonblocking_cloexec(fd_.get());
  // Frames are small and latency-bound (one command in flight): never wait for Nagle.
  const int one = 1;
  if (::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
    throw_errno("setsockopt(TCP_NODELAY)", errno);
}

TcpSocket TcpSocket::connect(const EndpointAddress& peer, Deadline deadline) {
  const std::string where = "connect to " + peer.to_string();
  if (peer.port == 0) throw TransportError(TransportErrc::CONNECT_FAILED, where + ": port 0 is not connectable");
  sockaddr_storage ss{};
  const socklen_t len = peer.to_sockaddr(ss);
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno(where + ": socket", errno);

  int rc;
  do rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len);
  while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EINPROGRESS)
    throw TransportError(TransportErrc::CONNECT_FAILED, where + ": " + std::strerror(errno));
  if (rc < 0) {
    if (poll_fd(fd.get(), POLLOUT, deadline) == 0)
      throw TransportError(TransportErrc::TIMEOUT, where + ": not connected before the deadline");
    int err = 0;
    socklen_t err_len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) < 0) err = errno;
    if (err != 0) throw TransportError(TransportErrc::CONNECT_FAILED, where + ": " + std::strerror(err));
  }
  return TcpSocket(std::move(fd));
}

EndpointAddress TcpSocket::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) throw_errno("getsockname", errno);
  return EndpointAddress::from_sockaddr(ss);
}

EndpointAddress TcpSocket::peer_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) throw_errno("getpeername", errno);
  return EndpointAddress::from_sockaddr(ss);
}

size_t TcpSocket::write_some(std::span<const uint8_t> bytes) {
  const iovec one{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  return write_some(std::span<const iovec>(&one, 1));
}

size_t TcpSocket::write_some(std::span<const iovec> buffers) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(buffers.data());
  msg.msg_iovlen = buffers.size() > IOV_MAX ? IOV_MAX : buffers.size();
  while (true) {
    // MSG_NOSIGNAL: a peer that went away must be an error here, not a process-killing SIGPIPE.
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (would_block(errno)) return 0;
    throw_errno("send", errno);
  }
}

size_t TcpSocket::read_some(std::span<uint8_t> out) {
  while (true) {
    const ssize_t n = ::recv(fd_.get(), out.data(), out.size(), 0);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) throw TransportError(TransportErrc::PEER_CLOSED, "recv: the peer closed the connection");
    if (errno == EINTR) continue;
    if (would_block(errno)) return 0;
    throw_errno("recv", errno);
  }
}

void TcpSocket::write_all(std::span<const uint8_t> bytes, Deadline deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    const size_t n = write_some(bytes.subspan(done));
    done += n;
    if (n == 0 && !wait_writable(deadline))
      throw TransportError(TransportErrc::TIMEOUT, "send: " + std::to_string(bytes.size() - done) + " of " +
                                                       std::to_string(bytes.size()) +
                                                       " bytes still unsent at the deadline (peer not reading?)");
  }
}

void TcpSocket::read_exact(std::span<uint8_t> out, Deadline deadline) {
  size_t done = 0;
  while (done < out.size()) {
    const size_t n = read_some(out.subspan(done));
    done += n;
    if (n == 0 && !wait_readable(deadline))
      throw TransportError(TransportErrc::TIMEOUT, "recv: " + std::to_string(done) + " of " +
                                                       std::to_string(out.size()) + " bytes read at the deadline");
  }
}

// POLLERR/POLLHUP count as ready: the next read or write reports the actual error.
bool TcpSocket::wait_readable(Deadline deadline) const { return poll_fd(fd_.get(), POLLIN, deadline) != 0; }
bool TcpSocket::wait_writable(Deadline deadline) const { return poll_fd(fd_.get(), POLLOUT, deadline) != 0; }

void TcpSocket::shutdown() noexcept {
  if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace echelon::transport
