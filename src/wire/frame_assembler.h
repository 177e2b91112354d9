// Incremental frame assembly for stream transports (WIRE-4): the header is gathered into a fixed
// buffer and validated before any payload storage is sized, so a hostile length never allocates.
// Transport-agnostic: the caller copies whatever bytes arrived into want() and calls commit().
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "wire/frame_header.h"

namespace echelon::wire {

class FrameAssembler {
 public:
  explicit FrameAssembler(uint32_t max_payload = MAX_FRAME_PAYLOAD_BYTES) : max_payload_(max_payload) {}

  // Where the next received bytes go; never longer than what the current frame still needs, so a
  // read never swallows the start of the next frame.
  std::span<uint8_t> want();
  // Records that `n` bytes were written into want(). Returns true once a whole frame is present.
  // Throws WireError when the header fails validation; the assembler is then unusable until reset().
  bool commit(size_t n);

  bool ready() const { return state_ == State::READY; }
  // The completed frame; valid until reset() or take().
  FrameView frame() const;
  // Hands over the completed frame's bytes (header then payload, contiguous, as received) and
  // starts the next frame. The payload was read straight into this storage, so a large frame
  // reaches its consumer without another copy.
  std::vector<uint8_t> take();
  // Starts the next frame, keeping the frame storage for reuse.
  void reset();
  // Storage currently reserved for frames (lets tests prove a bad header allocated nothing).
  size_t payload_capacity() const { return frame_.capacity(); }
  // Gives back the bytes of a frame returned by take() once its consumer is done with them. The
  // next large frame (RECYCLE_MIN_BYTES or more) is received into this storage instead of a fresh
  // allocation, so a stream of bulk frames does not page-fault a new buffer for every frame. Only
  // one buffer is kept; storage larger than the largest possible frame is dropped.
  void recycle(std::vector<uint8_t> storage);
  size_t spare_capacity() const { return spare_.capacity(); }

  static constexpr size_t RECYCLE_MIN_BYTES = 64 * 1024;

  // Lets the consumer place the rest of a large frame itself (COPY_TO_REMOTE data straight into
  // its destination). For every frame whose payload is longer than `prefix_bytes`, once that
  // many payload bytes have arrived (the header already validated), `router(header, prefix)` is
  // asked where the remaining payload_bytes - prefix_bytes bytes go: a span of exactly that size
  // receives them, anything else (an empty span: the consumer declines) and the frame is received
  // whole as usual. A routed frame completes with only header + prefix in its storage
  // (tail_routed() is then true). The router must not throw.
  using TailRouter = std::function<std::span<uint8_t>(const FrameHeader&, std::span<const uint8_t> prefix)>;
  void set_tail_router(size_t prefix_bytes, TailRouter router);
  // The completed (or current) frame's tail went to the router's span, not into this storage.
  bool tail_routed() const { return !tail_.empty(); }

 private:
  enum class State { HEADER, PAYLOAD, READY, FAILED };

  uint32_t max_payload_;
  State state_ = State::HEADER;
  std::array<uint8_t, FRAME_HEADER_BYTES> header_bytes_{};
  size_t have_ = 0;  // bytes of the current part (header or payload) received so far
  FrameHeader header_;
  std::vector<uint8_t> frame_;  // header copy + payload, sized once the header validated
  std::vector<uint8_t> spare_;  // recycled storage for the next large frame
  size_t router_prefix_ = 0;
  TailRouter router_;
  bool routing_pending_ = false;  // the current frame's prefix is still being received
  std::span<uint8_t> tail_;       // where the current frame's routed tail goes
  void size_frame_storage(size_t total);
};

}  // namespace echelon::wire
