// Resumable framed I/O over non-blocking sockets (WIRE-4, lessons: partial headers across polls,
// blocking send to a non-reading peer, progress error leaving the transport busy).
#include <optional>
#include <thread>

#include "transport/frame_stream.h"
#include "transport/host_tcp_channel.h"
#include "wire/frame_codec.h"
#include "wire/wire_error.h"
#include "transport_test_support.h"

namespace echelon::transport::test {
namespace {

using FrameStreamTest = TransportTest;

// Waits (bounded) for the stream to have input, then polls once.
std::optional<InboundFrame> poll_after_wait(FrameStream& s) {
  s.socket().wait_readable(deadline_in(1s));
  return s.poll_frame();
}

TEST_F(FrameStreamTest, FramesRoundTripBothWays) {
  auto [a, b] = connected_pair();
  FrameStream left(std::move(a)), right(std::move(b));
  const Bytes payload(1000, 7);
  left.send(make_frame(wire::FrameType::TASK, 1, payload), deadline_in(1s));
  const InboundFrame got = right.receive(deadline_in(1s));
  EXPECT_EQ(got.header.type, wire::FrameType::TASK);
  EXPECT_EQ(got.header.sequence, 1u);
  EXPECT_EQ(Bytes(got.payload().begin(), got.payload().end()), payload);
  EXPECT_EQ(got.bytes, make_frame(wire::FrameType::TASK, 1, payload));
  right.send(make_frame(wire::FrameType::COMPLETION, 1, Bytes(5, 1)), deadline_in(1s));
  EXPECT_EQ(left.receive(deadline_in(1s)).header.type, wire::FrameType::COMPLETION);
}

TEST_F(FrameStreamTest, FrameWrittenOneByteAtATimeAssembles) {
  auto [writer, reader_socket] = connected_pair();
  FrameStream reader(std::move(reader_socket));
  const Bytes frame = make_frame(wire::FrameType::TASK, 3, Bytes{1, 2, 3, 4, 5});
  for (size_t i = 0; i < frame.size(); ++i) {
    writer.write_all(std::span(&frame[i], 1), deadline_in(1s));
    const auto got = poll_after_wait(reader);
    if (i + 1 < frame.size()) {
      ASSERT_FALSE(got) << "frame completed after " << i + 1 << " bytes";
    } else {
      ASSERT_TRUE(got);
      EXPECT_EQ(got->bytes, frame);
    }
  }
}

TEST_F(FrameStreamTest, HeaderSplitAcrossWritesThenTwoFramesInOneWrite) {
  auto [writer, reader_socket] = connected_pair();
  FrameStream reader(std::move(reader_socket));
  const Bytes first = make_frame(wire::FrameType::TASK, 1, Bytes(100, 1));
  const Bytes second = make_frame(wire::FrameType::SHUTDOWN, 2);
  writer.write_all(std::span(first).first(17), deadline_in(1s));
  EXPECT_FALSE(poll_after_wait(reader));
  Bytes rest(first.begin() + 17, first.end());
  rest.insert(rest.end(), second.begin(), second.end());
  writer.write_all(rest, deadline_in(1s));
  const auto one = poll_after_wait(reader);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->bytes, first);
  // The second frame is already in the stream's buffer: no wait needed, none would fire.
  const auto two = reader.poll_frame();
  ASSERT_TRUE(two);
  EXPECT_EQ(two->bytes, second);
  EXPECT_FALSE(reader.poll_frame());
}

TEST_F(FrameStreamTest, SendToAPeerThatNeverReadsFailsAtTheDeadline) {
  auto [a, never_reads] = connected_pair();
  FrameStream sender(std::move(a));
  const Bytes big = make_frame(wire::FrameType::TASK, 1, Bytes(wire::MAX_FRAME_PAYLOAD_BYTES, 0));
  const double ms = elapsed_ms([&] {
    try {
      sender.send(big, deadline_in(300ms));
      ADD_FAILURE() << "16 MiB fitted into the socket buffers";
    } catch (const TransportError& e) {
      EXPECT_EQ(e.code(), TransportErrc::TIMEOUT);
      EXPECT_NE(std::string(e.what()).find("still unsent"), std::string::npos) << e.what();
    }
  });
  EXPECT_GE(ms, 290);
  EXPECT_LT(ms, 2000);
  // Failed, not "busy": nothing stays queued, and later use reports the first cause.
  EXPECT_TRUE(sender.failed());
  EXPECT_FALSE(sender.has_pending_output());
  EXPECT_EQ(sender.failure()->code(), TransportErrc::TIMEOUT);
  EXPECT_THROW(sender.enqueue(make_frame(wire::FrameType::SHUTDOWN, 2)), TransportError);
}

TEST_F(FrameStreamTest, PartialWriteResumesOnLaterFlushes) {
  auto [a, b] = connected_pair();
  FrameStream sender(std::move(a)), receiver(std::move(b));
  const Bytes big = make_frame(wire::FrameType::TASK, 1, Bytes(8 * 1024 * 1024, 9));
  sender.enqueue(big);
  EXPECT_FALSE(sender.flush()) << "expected the socket buffers to fill";
  std::optional<InboundFrame> got;
  const auto deadline = deadline_in(5s);
  while (!got && Clock::now() < deadline) {
    sender.flush();
    got = receiver.poll_frame();
  }
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, big);
  EXPECT_FALSE(sender.has_pending_output());
}

TEST_F(FrameStreamTest, MalformedFrameFailsOnlyThatConnection) {
  TcpListener listener = TcpListener::listen(loopback());
  TcpSocket bad_peer = TcpSocket::connect(listener.local_address(), deadline_in(1s));
  TcpSocket good_peer = TcpSocket::connect(listener.local_address(), deadline_in(1s));
  FrameStream bad(listener.accept(deadline_in(1s)));
  FrameStream good(listener.accept(deadline_in(1s)));

  Bytes garbage = make_frame(wire::FrameType::TASK, 1, Bytes(4, 0));
  garbage[0] = 'X';  // bad magic
  bad_peer.write_all(garbage, deadline_in(1s));
  good_peer.write_all(make_frame(wire::FrameType::TASK, 1, Bytes(4, 0)), deadline_in(1s));

  try {
    bad.receive(deadline_in(1s));
    ADD_FAILURE() << "accepted a frame with a bad magic";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), TransportErrc::MALFORMED_FRAME);
    EXPECT_NE(std::string(e.what()).find("magic"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(bad.failed());
  // The failed stream shut its socket down: its peer sees EOF.
  uint8_t byte;
  EXPECT_THROW(bad_peer.read_exact(std::span(&byte, 1), deadline_in(1s)), TransportError);

  EXPECT_EQ(good.receive(deadline_in(1s)).header.sequence, 1u);
  EXPECT_FALSE(good.failed());
}

TEST_F(FrameStreamTest, HugeLengthFailsWithoutWaitingForThePayload) {
  auto [writer, reader_socket] = connected_pair();
  FrameStream reader(std::move(reader_socket));
  Bytes header = make_frame(wire::FrameType::TASK, 1);
  header[32] = header[33] = header[34] = 0xFF;  // payload_bytes far above 16 MiB
  header[35] = 0x7F;
  writer.write_all(header, deadline_in(1s));
  try {
    reader.receive(deadline_in(1s));
    ADD_FAILURE() << "accepted";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), TransportErrc::MALFORMED_FRAME);
  }
}

TEST_F(FrameStreamTest, PeerCloseIsNamed) {
  auto [a, b] = connected_pair();
  FrameStream stream(std::move(a));
  b.close();
  try {
    stream.receive(deadline_in(1s));
    ADD_FAILURE() << "received from a closed peer";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), TransportErrc::PEER_CLOSED);
  }
  EXPECT_EQ(stream.failure()->code(), TransportErrc::PEER_CLOSED);
}

TEST_F(FrameStreamTest, ReceiveHonoursItsDeadline) {
  auto [a, b] = connected_pair();
  FrameStream stream(std::move(a));
  const double ms = elapsed_ms([&] { EXPECT_THROW(stream.receive(deadline_in(100ms)), TransportError); });
  EXPECT_GE(ms, 95);
  EXPECT_LT(ms, 1000);
  EXPECT_EQ(stream.failure()->code(), TransportErrc::TIMEOUT);
}

TEST_F(FrameStreamTest, BadOutgoingFrameIsTheSendersErrorAndLeavesTheStreamHealthy) {
  auto [a, b] = connected_pair();
  FrameStream stream(std::move(a));
  Bytes truncated = make_frame(wire::FrameType::TASK, 1, Bytes(10, 0));
  truncated.pop_back();
  EXPECT_THROW(stream.enqueue(truncated), wire::WireError);
  EXPECT_FALSE(stream.failed());
  EXPECT_FALSE(stream.has_pending_output());
}

TEST_F(FrameStreamTest, ReceiveFlushesPostedOutputWhileWaiting) {
  auto [a, b] = connected_pair();
  FrameStream requester(std::move(a)), responder(std::move(b));
  const Bytes big = make_frame(wire::FrameType::TASK, 1, Bytes(4 * 1024 * 1024, 3));
  requester.enqueue(big);  // more than the socket buffers take in one go
  std::thread echo([&] {
    const InboundFrame request = responder.receive(deadline_in(5s));
    responder.send(make_frame(wire::FrameType::COMPLETION, request.header.sequence, Bytes(4, 0)), deadline_in(5s));
  });
  EXPECT_EQ(requester.receive(deadline_in(5s)).header.type, wire::FrameType::COMPLETION);
  echo.join();
}

TEST_F(FrameStreamTest, HostTcpChannelConnectsPostsAndPolls) {
  TcpListener listener = TcpListener::listen(loopback());
  auto client = HostTcpChannel::connect(listener.local_address(), deadline_in(1s));
  HostTcpChannel server(listener.accept(deadline_in(1s)));
  FrameChannel& lane = *client;
  EXPECT_STREQ(lane.profile(), "host_tcp");
  EXPECT_EQ(lane.peer(), listener.local_address().to_string());
  lane.post(make_frame(wire::FrameType::HEALTH, 1));
  while (lane.wants_write()) lane.poll();
  EXPECT_EQ(server.receive(deadline_in(1s)).header.type, wire::FrameType::HEALTH);
  lane.close();
  EXPECT_TRUE(lane.failed());
  EXPECT_EQ(lane.failure()->code(), TransportErrc::CLOSED);
  EXPECT_THROW(server.receive(deadline_in(1s)), TransportError);
}

// Scatter/gather frames (copy chunks written from the caller's memory): the peer sees exactly the
// frame encode_frame would build, and `released` runs once, only after the tail was written.
TEST_F(FrameStreamTest, HeadAndBorrowedTailArriveAsOneFrameAndReleaseOnce) {
  auto [a, b] = connected_pair();
  FrameStream left(std::move(a)), right(std::move(b));
  Bytes payload(3 << 20);  // larger than the socket buffers: several partial writes
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13 + 1);
  const Bytes head_part(payload.begin(), payload.begin() + 52);
  const std::span<const uint8_t> tail = std::span<const uint8_t>(payload).subspan(52);
  int released = 0;
  left.enqueue_parts(wire::encode_frame_head(wire::FrameType::CONTROL, {42, 0, 1, 0}, head_part, tail.size()), tail,
                     [&] { ++released; });
  left.enqueue(make_frame(wire::FrameType::TASK, 2, Bytes(10, 9)));  // a whole frame behind it
  std::thread reader([&] {
    const InboundFrame got = right.receive(deadline_in(5s));
    EXPECT_EQ(got.bytes, make_frame(wire::FrameType::CONTROL, 1, payload));
    EXPECT_EQ(right.receive(deadline_in(5s)).header.sequence, 2u);
  });
  const auto deadline = deadline_in(5s);
  while (!left.flush()) {
    EXPECT_EQ(released, 0) << "released before the tail was written";
    ASSERT_TRUE(left.socket().wait_writable(deadline));
  }
  reader.join();
  EXPECT_EQ(released, 1);
}

TEST_F(FrameStreamTest, BorrowedTailWithWrongLengthIsRefusedAndNotReleased) {
  auto [a, b] = connected_pair();
  FrameStream left(std::move(a));
  const Bytes tail(100, 1);
  int released = 0;
  // The header announces 10 + 99 payload bytes, 10 + 100 follow.
  EXPECT_THROW(left.enqueue_parts(wire::encode_frame_head(wire::FrameType::TASK, {42, 0, 1, 0}, Bytes(10, 0), 99), tail,
                                  [&] { ++released; }),
               wire::WireError);
  EXPECT_EQ(released, 0);
  EXPECT_FALSE(left.has_pending_output());
  EXPECT_FALSE(left.failed()) << "a sender's bad frame is not the peer's fault";
}

TEST_F(FrameStreamTest, ClosingWithAnUnwrittenBorrowedTailReleasesIt) {
  auto [a, b] = connected_pair();
  FrameStream left(std::move(a));
  const Bytes tail(8 << 20, 3);  // the peer never reads: most of it stays queued
  int released = 0;
  left.enqueue_parts(wire::encode_frame_head(wire::FrameType::TASK, {42, 0, 1, 0}, {}, tail.size()), tail,
                     [&] { ++released; });
  EXPECT_FALSE(left.flush());
  EXPECT_EQ(released, 0);
  left.close();
  EXPECT_EQ(released, 1) << "a dropped frame no longer references the caller's memory";
  EXPECT_FALSE(left.has_pending_output());
}

TEST_F(FrameStreamTest, SendPayloadWritesTheSameFrameAsEncodeFrame) {
  auto [a, b] = connected_pair();
  HostTcpChannel left(std::move(a));
  FrameStream right(std::move(b));
  const Bytes payload(70'000, 5);
  left.send_payload(wire::FrameType::COMPLETION, {42, 0, 4, 0}, payload, deadline_in(1s));
  EXPECT_EQ(right.receive(deadline_in(1s)).bytes, make_frame(wire::FrameType::COMPLETION, 4, payload));
}

TEST_F(FrameStreamTest, SendPayloadPartsWritesTheSameFrameAsEncodeFrame) {
  auto [a, b] = connected_pair();
  HostTcpChannel left(std::move(a));
  FrameStream right(std::move(b));
  const Bytes head = {1, 2, 3};
  const Bytes tail(70'000, 6);
  Bytes payload = head;
  payload.insert(payload.end(), tail.begin(), tail.end());
  left.send_payload_parts(wire::FrameType::COMPLETION, {42, 0, 4, 0}, head, tail, deadline_in(1s));
  EXPECT_EQ(right.receive(deadline_in(1s)).bytes, make_frame(wire::FrameType::COMPLETION, 4, payload));
}

TEST_F(FrameStreamTest, RecycledFrameStorageReceivesTheNextBulkFrame) {
  auto [a, b] = connected_pair();
  FrameStream left(std::move(a));
  HostTcpChannel right(std::move(b));
  const Bytes first(200'000, 1), second(150'000, 2);
  left.send(make_frame(wire::FrameType::TASK, 1, first), deadline_in(1s));
  InboundFrame got = right.receive(deadline_in(1s));
  ASSERT_EQ(got.bytes, make_frame(wire::FrameType::TASK, 1, first));
  const uint8_t* storage = got.bytes.data();
  right.recycle(std::move(got.bytes));
  left.send(make_frame(wire::FrameType::TASK, 2, second), deadline_in(1s));
  const InboundFrame again = right.receive(deadline_in(1s));
  EXPECT_EQ(again.bytes.data(), storage);
  EXPECT_EQ(again.bytes, make_frame(wire::FrameType::TASK, 2, second)) << "no stale bytes of the first frame";
}

}  // namespace
}  // namespace echelon::transport::test
