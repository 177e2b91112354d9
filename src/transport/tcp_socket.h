// A connected, non-blocking TCP socket (close-on-exec, TCP_NODELAY). The *_some calls never block
// and return 0 when the kernel would block; the *_all/*_exact helpers block only up to a deadline.
// Writes use MSG_NOSIGNAL, so a closed peer is a PEER_CLOSED error and never a SIGPIPE.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "transport/deadline.h"
#include "transport/endpoint_address.h"
#include "transport/fd.h"

namespace echelon::transport {

class TcpSocket {
 public:
  // Adopts a connected socket (made non-blocking, close-on-exec and TCP_NODELAY here).
  explicit TcpSocket(Fd fd);

  // Non-blocking connect bounded by `deadline`. CONNECT_FAILED (refused, unreachable, port 0) or
  // TIMEOUT, each naming the address.
  static TcpSocket connect(const EndpointAddress& peer, Deadline deadline);

  int fd() const noexcept { return fd_.get(); }
  bool is_open() const noexcept { return fd_.valid(); }
  EndpointAddress local_address() const;
  EndpointAddress peer_address() const;

  // Bytes written (0: the send buffer is full). PEER_CLOSED / IO_ERROR otherwise.
  size_t write_some(std::span<const uint8_t> bytes);
  // Gathered write of up to IOV_MAX buffers, same contract as write_some.
  size_t write_some(std::span<const iovec> buffers);
  // Bytes read (0: nothing available). PEER_CLOSED on orderly EOF or reset; `out` must be non-empty.
  size_t read_some(std::span<uint8_t> out);

  // Block until all of `bytes` is written / `out` is filled, or throw TIMEOUT at `deadline`.
  void write_all(std::span<const uint8_t> bytes, Deadline deadline);
  void read_exact(std::span<uint8_t> out, Deadline deadline);

  // Wait until readable / writable; false when `deadline` passed first.
  bool wait_readable(Deadline deadline) const;
  bool wait_writable(Deadline deadline) const;

  // shutdown(SHUT_RDWR): the peer sees EOF at once, the descriptor stays valid until close().
  void shutdown() noexcept;
  void close() noexcept { fd_.reset(); }

 private:
  Fd fd_;
};

// Sets O_NONBLOCK and FD_CLOEXEC (for descriptors not created with SOCK_NONBLOCK|SOCK_CLOEXEC).
void make_nonblocking_cloexec(int fd);

}  // namespace echelon::transport
