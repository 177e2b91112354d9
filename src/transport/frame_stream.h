// Resumable SLR3 framing over one non-blocking TCP socket. Outgoing frames are queued whole and
// written as far as the kernel takes them (a partial write resumes on the next flush); incoming
// bytes go through wire::FrameAssembler, so a header or payload split across reads resumes too
// and a hostile length is refused before anything is allocated (WIRE-4).
//
// Any error - the peer closing, a deadline passing in a blocking helper, a frame the codec
// rejects - moves the stream to a sticky failed state: queued output is dropped (so nothing looks
// "busy" afterwards), the socket is shut down so the peer sees EOF, and every later call throws
// a TransportError carrying the first cause.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "transport/deadline.h"
#include "transport/inbound_frame.h"
#include "transport/tcp_socket.h"
#include "transport/transport_error.h"
#include "wire/frame_assembler.h"

namespace echelon::transport {

class FrameStream {
 public:
  explicit FrameStream(TcpSocket socket, uint32_t max_payload = wire::MAX_FRAME_PAYLOAD_BYTES);

  // Queues one encoded frame. The frame is checked first (header rules, exact length); a bad frame
  // throws wire::WireError and leaves the stream untouched: it is the sender's bug, not the peer's.
  void enqueue(std::vector<uint8_t> frame);
  // Queues one frame made of `head` (the header and the start of the payload) followed by `tail`,
  // which is written from the caller's memory (scatter/gather, no copy). `released` runs exactly
  // once, on the owner thread, when the stream no longer references `tail`: the frame was written
  // whole, or dropped because the stream failed or closed. Checked like enqueue(); on a throw
  // nothing is queued and `released` is not called.
  void enqueue_parts(std::vector<uint8_t> head, std::span<const uint8_t> tail, std::function<void()> released = {});
  // Writes as much queued output as the socket accepts; true when nothing is left queued.
  bool flush();
  // Reads whatever is available and returns the next complete frame, if any. Returns nullopt
  // when more bytes are needed. After a readable event call it until it returns nullopt: bytes of
  // a following frame may already sit in the stream's buffer, where epoll cannot see them.
  std::optional<InboundFrame> poll_frame();

  // Blocking forms, bounded by `deadline`; a timeout fails the stream (a half-sent frame or a
  // late reply would otherwise be paired with the next request, protocol.md 12).
  // receive() also keeps flushing output queued by enqueue() while it waits.
  void send(std::vector<uint8_t> frame, Deadline deadline);
  // send() of a frame given as head + borrowed tail; `tail` is not referenced after it returns or throws.
  void send_parts(std::vector<uint8_t> head, std::span<const uint8_t> tail, Deadline deadline);
  InboundFrame receive(Deadline deadline);

  // Hands back the bytes of a frame returned by poll_frame()/receive() once they are no longer
  // needed; the next large inbound frame is received into them (no fresh, page-faulting buffer).
  void recycle(std::vector<uint8_t> storage) { assembler_.recycle(std::move(storage)); }
  const wire::FrameAssembler& assembler() const noexcept { return assembler_; }
  // See wire::FrameAssembler::set_tail_router; routed frames come out with tail_routed set.
  void set_tail_router(size_t prefix_bytes, wire::FrameAssembler::TailRouter router) {
    assembler_.set_tail_router(prefix_bytes, std::move(router));
  }

  int fd() const noexcept { return socket_.fd(); }
  bool has_pending_output() const noexcept { return !outgoing_.empty(); }
  size_t pending_output_bytes() const noexcept { return pending_bytes_; }
  bool failed() const noexcept { return failure_.has_value(); }
  // The first error, or nullptr while healthy.
  const TransportError* failure() const noexcept { return failure_ ? &*failure_ : nullptr; }
  const TcpSocket& socket() const noexcept { return socket_; }
  // "127.0.0.1:5000", taken at construction so error texts never need a system call.
  const std::string& peer() const noexcept { return peer_; }

  // Fails the stream with CLOSED (if still healthy) and closes the socket.
  void close() noexcept;

 private:
  template <typename Fn>
  auto guarded(Fn&& fn);
  void fail(TransportError error) noexcept;
  void require_healthy() const;
  bool feed_assembler_from_staging();
  InboundFrame take_frame();

  TcpSocket socket_;
  std::string peer_;
  wire::FrameAssembler assembler_;
  // Small frames are read through this buffer (one recv for many frames); large payloads are read
  // straight into the assembler, skipping the copy.
  std::vector<uint8_t> staging_;
  size_t staged_begin_ = 0;
  size_t staged_end_ = 0;

  struct Outgoing {
    std::vector<uint8_t> head;
    std::span<const uint8_t> tail;   // borrowed; empty for a whole frame
    std::function<void()> released;  // run once when the frame leaves the queue
    size_t size() const noexcept { return head.size() + tail.size(); }
  };
  void pop_front_outgoing() noexcept;
  std::deque<Outgoing> outgoing_;
  size_t front_written_ = 0;  // bytes of outgoing_.front() already sent
  size_t pending_bytes_ = 0;

  std::optional<TransportError> failure_;
};

}  // namespace echelon::transport
