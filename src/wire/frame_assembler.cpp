#include "wire/frame_assembler.h"

#include <cstring>

#include "wire/wire_error.h"

namespace echelon::wire {

std::span<uint8_t> FrameAssembler::want() {
  switch (state_) {
    case State::HEADER: return std::span<uint8_t>(header_bytes_).subspan(have_);
    case State::PAYLOAD: return std::span<uint8_t>(frame_).subspan(FRAME_HEADER_BYTES + have_);
    default: return {};
  }
}

bool FrameAssembler::commit(size_t n) {
  if (n > want().size())
    fail(WireErrc::LENGTH_MISMATCH, "FrameAssembler", "committed more bytes than were asked for");
  have_ += n;
  if (state_ == State::HEADER && have_ == FRAME_HEADER_BYTES) {
    state_ = State::FAILED;  // stays failed if validation throws
    header_ = decode_frame_header(header_bytes_, max_payload_);
    frame_.resize(FRAME_HEADER_BYTES + header_.payload_bytes);  // only now: the length has been validated
    std::memcpy(frame_.data(), header_bytes_.data(), FRAME_HEADER_BYTES);
    have_ = 0;
    state_ = State::PAYLOAD;
  }
  if (state_ == State::PAYLOAD && have_ == header_.payload_bytes) state_ = State::READY;
  return state_ == State::READY;
}

FrameView FrameAssembler::frame() const {
  if (state_ != State::READY) fail(WireErrc::TRUNCATED, "FrameAssembler", "no complete frame yet");
  return FrameView{header_, std::span<const uint8_t>(frame_).subspan(FRAME_HEADER_BYTES)};
}

std::vector<uint8_t> FrameAssembler::take() {
  if (state_ != State::READY) fail(WireErrc::TRUNCATED, "FrameAssembler", "no complete frame yet");
  std::vector<uint8_t> out = std::move(frame_);
  frame_ = {};
  state_ = State::HEADER;
  have_ = 0;
  return out;
}

void FrameAssembler::reset() {
  state_ = State::HEADER;
  have_ = 0;
  frame_.clear();
}

}  // namespace echelon::wire
