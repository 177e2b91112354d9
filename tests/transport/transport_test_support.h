// Loopback helpers for the transport tests: connected socket pairs on ephemeral ports, frames,
// and a guard that fails a test which leaves descriptors behind.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "transport/tcp_listener.h"
#include "transport/tcp_socket.h"
#include "wire/frame_header.h"

namespace echelon::transport::test {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

inline EndpointAddress loopback(uint16_t port = 0) { return parse_endpoint_address("127.0.0.1:" + std::to_string(port)); }

// {connecting side, accepting side}, both connected to each other on 127.0.0.1.
std::pair<TcpSocket, TcpSocket> connected_pair();

// An encoded frame of session 42, worker 0.
Bytes make_frame(wire::FrameType type, uint64_t sequence, const Bytes& payload = {});

size_t open_fd_count();

// Every test starts and ends with the same number of open descriptors.
class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override { fds_before_ = open_fd_count(); }
  void TearDown() override { EXPECT_EQ(open_fd_count(), fds_before_) << "descriptors leaked"; }

 private:
  size_t fds_before_ = 0;
};

template <typename Fn>
double elapsed_ms(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace echelon::transport::test
