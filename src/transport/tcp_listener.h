// A listening TCP socket (SO_REUSEADDR, non-blocking, close-on-exec). Port 0 binds an ephemeral
// port; local_address() tells which one, so it can be announced (bootstrap reply, RT-910).
#pragma once

#include <optional>

#include "transport/deadline.h"
#include "transport/endpoint_address.h"
#include "transport/fd.h"
#include "transport/tcp_socket.h"

namespace echelon::transport {

class TcpListener {
 public:
  static constexpr int DEFAULT_BACKLOG = 64;
  static TcpListener listen(const EndpointAddress& address, int backlog = DEFAULT_BACKLOG);

  int fd() const noexcept { return fd_.get(); }
  EndpointAddress local_address() const;

  // One pending connection, or nullopt when none is waiting (never blocks).
  std::optional<TcpSocket> try_accept();
  // Waits for a connection up to `deadline`; TIMEOUT naming the address otherwise.
  TcpSocket accept(Deadline deadline);
  void close() noexcept { fd_.reset(); }

 private:
  explicit TcpListener(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace echelon::transport
