// Non-blocking TCP sockets: connect failures and deadlines, SIGPIPE-free writes, bootstrap framing.
#include <csignal>
#include <optional>
#include <thread>
#include <vector>

#include "transport/bootstrap_message.h"
#include "transport/transport_error.h"
#include "transport_test_support.h"

namespace echelon::transport::test {
namespace {

using SocketTest = TransportTest;

uint16_t closed_port() {
  // Bind an ephemeral port and release it: nothing listens there afterwards.
  return TcpListener::listen(loopback()).local_address().port;
}

TEST_F(SocketTest, ConnectToClosedPortFailsFastNamingTheAddress) {
  const EndpointAddress addr = loopback(closed_port());
  try {
    const double ms = elapsed_ms([&] { TcpSocket::connect(addr, deadline_in(5s)); });
    ADD_FAILURE() << "connected after " << ms << " ms";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), TransportErrc::CONNECT_FAILED);
    EXPECT_NE(std::string(e.what()).find(addr.to_string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
}

TEST_F(SocketTest, ConnectToPortZeroIsRefused) {
  EXPECT_THROW(TcpSocket::connect(loopback(0), deadline_in(1s)), TransportError);
}

TEST_F(SocketTest, ConnectHonoursItsDeadline) {
  // A listener that never accepts, with the smallest backlog: once its queue is full the kernel
  // drops further SYNs, so a connect can only end by its deadline.
  TcpListener listener = TcpListener::listen(loopback(), 0);
  std::vector<TcpSocket> queued;
  std::optional<double> timed_out_after_ms;
  for (int i = 0; i < 16 && !timed_out_after_ms; ++i) {
    const auto t0 = Clock::now();
    try {
      queued.push_back(TcpSocket::connect(listener.local_address(), t0 + 200ms));
    } catch (const TransportError& e) {
      ASSERT_EQ(e.code(), TransportErrc::TIMEOUT) << e.what();
      timed_out_after_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
  }
  ASSERT_TRUE(timed_out_after_ms) << "the backlog never filled";
  EXPECT_GE(*timed_out_after_ms, 190);
  EXPECT_LT(*timed_out_after_ms, 1000);
}

TEST_F(SocketTest, WritingToAClosedPeerFailsCleanlyWithoutSigpipe) {
  // Default disposition: a SIGPIPE would kill the test binary.
  const auto previous = std::signal(SIGPIPE, SIG_DFL);
  auto [client, server] = connected_pair();
  server.close();
  const Bytes chunk(64 * 1024, 0xAB);
  try {
    for (int i = 0; i < 1000; ++i) client.write_all(chunk, deadline_in(1s));
    ADD_FAILURE() << "writes to a closed peer kept succeeding";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), TransportErrc::PEER_CLOSED) << e.what();
  }
  std::signal(SIGPIPE, previous);
}

TEST_F(SocketTest, ReadingFromAClosedPeerIsPeerClosed) {
  auto [client, server] = connected_pair();
  server.close();
  uint8_t byte = 0;
  try {
    client.read_exact(std::span(&byte, 1), deadline_in(1s));
    ADD_FAILURE() << "read succeeded";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), TransportErrc::PEER_CLOSED);
  }
}

TEST_F(SocketTest, AcceptHonoursItsDeadline) {
  TcpListener listener = TcpListener::listen(loopback());
  const double ms = elapsed_ms([&] {
    try {
      listener.accept(deadline_in(100ms));
      ADD_FAILURE() << "accepted a connection nobody made";
    } catch (const TransportError& e) {
      EXPECT_EQ(e.code(), TransportErrc::TIMEOUT);
    }
  });
  EXPECT_GE(ms, 95);
  EXPECT_LT(ms, 1000);
}

TEST_F(SocketTest, BootstrapMessageRoundTrips) {
  auto [client, server] = connected_pair();
  const Bytes manifest = {'{', '}'};
  write_bootstrap_message(client, manifest, deadline_in(1s));
  EXPECT_EQ(read_bootstrap_message(server, deadline_in(1s)), manifest);
}

TEST_F(SocketTest, OversizedBootstrapPrefixRejectedBeforeRead) {
  auto [client, server] = connected_pair();
  const Bytes huge_prefix = {0x01, 0x00, 0x00, 0x01};  // 16 MiB + 1
  client.write_all(huge_prefix, deadline_in(1s));
  try {
    read_bootstrap_message(server, deadline_in(1s));
    ADD_FAILURE() << "accepted";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), TransportErrc::MESSAGE_TOO_LARGE);
  }
}

}  // namespace
}  // namespace echelon::transport::test
