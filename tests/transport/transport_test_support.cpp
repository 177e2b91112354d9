#include "transport_test_support.h"

#include <filesystem>

namespace echelon::transport::test {

std::pair<TcpSocket, TcpSocket> connected_pair() {
  TcpListener listener = TcpListener::listen(loopback());
  TcpSocket client = TcpSocket::connect(listener.local_address(), deadline_in(2s));
  TcpSocket server = listener.accept(deadline_in(2s));
  return {std::move(client), std::move(server)};
}

Bytes make_frame(wire::FrameType type, uint64_t sequence, const Bytes& payload) {
  return wire::encode_frame(type, wire::FrameRoute{42, 0, sequence, 0}, payload);
}

size_t open_fd_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace echelon::transport::test
