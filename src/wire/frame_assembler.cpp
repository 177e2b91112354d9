#include "wire/frame_assembler.h"

#include "wire/wire_error.h"

namespace echelon::wire {

std::span<uint8_t> FrameAssembler::want() {
  switch (state_) {
    case State::HEADER: return std::span<uint8_t>(header_bytes_).subspan(have_);
    case State::PAYLOAD: return std::span<uint8_t>(payload_).subspan(have_);
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
    payload_.resize(header_.payload_bytes);  // only now: the length has been validated
    have_ = 0;
    state_ = State::PAYLOAD;
  }
  if (state_ == State::PAYLOAD && have_ == payload_.size()) state_ = State::READY;
  return state_ == State::READY;
}

FrameView FrameAssembler::frame() const {
  if (state_ != State::READY) fail(WireErrc::TRUNCATED, "FrameAssembler", "no complete frame yet");
  return FrameView{header_, payload_};
}

void FrameAssembler::reset() {
  state_ = State::HEADER;
  have_ = 0;
  payload_.clear();
}

}  // namespace echelon::wire
