#include "transport/frame_stream.h"

#include <poll.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "wire/wire_error.h"

namespace echelon::transport {
namespace {

constexpr size_t STAGING_BYTES = 64 * 1024;
constexpr size_t MAX_IOVECS_PER_WRITE = 64;

void run_released(std::function<void()>& released) noexcept {
  if (!released) return;
  try {
    released();
  } catch (...) {  // a release hook only records a fact; nothing to recover here
  }
  released = nullptr;
}

}  // namespace

FrameStream::FrameStream(TcpSocket socket, uint32_t max_payload)
    : socket_(std::move(socket)), assembler_(max_payload), staging_(STAGING_BYTES) {
  try {
    peer_ = socket_.peer_address().to_string();
  } catch (const TransportError&) {
    peer_ = "unconnected peer";  // already reset by the peer; the first read will say so
  }
}

// Runs one operation; turns a codec rejection into MALFORMED_FRAME and makes any transport error
// sticky, so the caller and every later call see the same cause.
template <typename Fn>
auto FrameStream::guarded(Fn&& fn) {
  require_healthy();
  try {
    return fn();
  } catch (const wire::WireError& e) {
    TransportError error(TransportErrc::MALFORMED_FRAME, "from " + peer_ + ": " + e.what());
    fail(error);
    throw error;
  } catch (const TransportError& e) {
    fail(e);
    throw;
  }
}

void FrameStream::fail(TransportError error) noexcept {
  if (failure_) return;
  failure_.emplace(std::move(error));
  std::deque<Outgoing> dropped;
  dropped.swap(outgoing_);
  front_written_ = pending_bytes_ = 0;
  for (Outgoing& o : dropped) run_released(o.released);  // nothing borrowed is referenced any more
  staged_begin_ = staged_end_ = 0;
  assembler_.reset();
  socket_.shutdown();
}

void FrameStream::require_healthy() const {
  if (failure_) throw TransportError(failure_->code(), std::string("stream already failed: ") + failure_->what());
  if (!socket_.is_open()) throw TransportError(TransportErrc::CLOSED, "stream is closed");
}

void FrameStream::enqueue(std::vector<uint8_t> frame) {
  require_healthy();
  (void)wire::decode_frame(frame);  // throws WireError; deliberately outside guarded()
  pending_bytes_ += frame.size();
  outgoing_.push_back(Outgoing{std::move(frame), {}, {}});
}

void FrameStream::enqueue_parts(std::vector<uint8_t> head, std::span<const uint8_t> tail,
                                std::function<void()> released) {
  require_healthy();
  // The header rules, then the exact length over both parts (WIRE-3), outside guarded() as above.
  const wire::FrameHeader h = wire::decode_frame_header(head);
  if (head.size() + tail.size() != wire::FRAME_HEADER_BYTES + uint64_t{h.payload_bytes})
    throw wire::WireError(wire::WireErrc::LENGTH_MISMATCH, "FrameHeader.payload_bytes",
                          "payload_bytes " + std::to_string(h.payload_bytes) + " but " +
                              std::to_string(head.size() + tail.size() - wire::FRAME_HEADER_BYTES) +
                              " payload bytes follow");
  pending_bytes_ += head.size() + tail.size();
  outgoing_.push_back(Outgoing{std::move(head), tail, std::move(released)});
}

void FrameStream::pop_front_outgoing() noexcept {
  std::function<void()> released = std::move(outgoing_.front().released);
  outgoing_.pop_front();
  front_written_ = 0;
  run_released(released);
}

bool FrameStream::flush() {
  return guarded([&] {
    while (!outgoing_.empty()) {
      std::array<iovec, MAX_IOVECS_PER_WRITE> iov{};
      size_t count = 0;
      size_t skip = front_written_;  // bytes of the front frame already sent, head first
      for (auto it = outgoing_.begin(); it != outgoing_.end() && count + 2 <= iov.size(); ++it) {
        const std::span<const uint8_t> parts[2] = {it->head, it->tail};
        for (const auto part : parts) {
          const size_t from = std::min(skip, part.size());
          skip -= from;
          if (from < part.size())
            iov[count++] = iovec{const_cast<uint8_t*>(part.data()) + from, part.size() - from};
        }
      }
      size_t written = socket_.write_some(std::span<const iovec>(iov.data(), count));
      if (written == 0) return false;
      pending_bytes_ -= written;
      while (written > 0) {
        const size_t left_in_front = outgoing_.front().size() - front_written_;
        const size_t used = std::min(written, left_in_front);
        front_written_ += used;
        written -= used;
        if (front_written_ == outgoing_.front().size()) pop_front_outgoing();
      }
    }
    return true;
  });
}

// Moves staged bytes into the assembler; true once a frame is complete.
bool FrameStream::feed_assembler_from_staging() {
  while (staged_begin_ < staged_end_) {
    const auto want = assembler_.want();
    const size_t n = std::min(want.size(), staged_end_ - staged_begin_);
    std::memcpy(want.data(), staging_.data() + staged_begin_, n);
    staged_begin_ += n;
    if (assembler_.commit(n)) return true;
  }
  return assembler_.ready();
}

InboundFrame FrameStream::take_frame() {
  const wire::FrameHeader header = assembler_.frame().header;
  const bool routed = assembler_.tail_routed();
  return InboundFrame{header, assembler_.take(), routed};
}

std::optional<InboundFrame> FrameStream::poll_frame() {
  return guarded([&]() -> std::optional<InboundFrame> {
    while (true) {
      if (feed_assembler_from_staging()) return take_frame();
      const auto want = assembler_.want();
      if (want.size() >= staging_.size()) {
        const size_t n = socket_.read_some(want);
        if (n == 0) return std::nullopt;
        if (assembler_.commit(n)) return take_frame();
      } else {
        const size_t n = socket_.read_some(staging_);
        if (n == 0) return std::nullopt;
        staged_begin_ = 0;
        staged_end_ = n;
      }
    }
  });
}

void FrameStream::send(std::vector<uint8_t> frame, Deadline deadline) {
  send_parts(std::move(frame), {}, deadline);
}

void FrameStream::send_parts(std::vector<uint8_t> head, std::span<const uint8_t> tail, Deadline deadline) {
  if (tail.empty()) enqueue(std::move(head));
  else enqueue_parts(std::move(head), tail);
  // A timeout fails the stream, which drops the queue: `tail` is never referenced after a throw.
  while (!flush()) {
    if (!socket_.wait_writable(deadline)) {
      TransportError error(TransportErrc::TIMEOUT, "send to " + peer_ + ": " +
                                                       std::to_string(pending_bytes_) +
                                                       " bytes still unsent at the deadline (peer not reading?)");
      fail(error);
      throw error;
    }
  }
}

InboundFrame FrameStream::receive(Deadline deadline) {
  while (true) {
    // Output queued by enqueue() keeps moving while we wait: the reply may depend on it.
    const bool writing = has_pending_output() && !flush();
    if (auto frame = poll_frame()) return std::move(*frame);
    if (poll_fd(socket_.fd(), writing ? POLLIN | POLLOUT : POLLIN, deadline) == 0) {
      TransportError error(TransportErrc::TIMEOUT,
                           "receive from " + peer_ + ": no complete frame by the deadline");
      fail(error);
      throw error;
    }
  }
}

void FrameStream::close() noexcept {
  fail(TransportError(TransportErrc::CLOSED, "stream closed locally"));
  socket_.close();
}

}  // namespace echelon::transport
