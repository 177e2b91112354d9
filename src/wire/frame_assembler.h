// Incremental frame assembly for stream transports (WIRE-4): the header is gathered into a fixed
// buffer and validated before any payload storage is sized, so a hostile length never allocates.
// Transport-agnostic: the caller copies whatever bytes arrived into want() and calls commit().
#pragma once

#include <array>
#include <cstdint>
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

 private:
  enum class State { HEADER, PAYLOAD, READY, FAILED };

  uint32_t max_payload_;
  State state_ = State::HEADER;
  std::array<uint8_t, FRAME_HEADER_BYTES> header_bytes_{};
  size_t have_ = 0;  // bytes of the current part (header or payload) received so far
  FrameHeader header_;
  std::vector<uint8_t> frame_;  // header copy + payload, sized once the header validated
};

}  // namespace echelon::wire
