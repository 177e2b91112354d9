#include "wire/frame_assembler.h"

#include <cstring>

#include "wire/wire_error.h"

namespace echelon::wire {

std::span<uint8_t> FrameAssembler::want() {
  switch (state_) {
    case State::HEADER: return std::span<uint8_t>(header_bytes_).subspan(have_);
    case State::PAYLOAD:
      if (!tail_.empty()) return tail_.subspan(have_ - router_prefix_);
      return std::span<uint8_t>(frame_).subspan(FRAME_HEADER_BYTES + have_);
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
    const size_t total = FRAME_HEADER_BYTES + size_t{header_.payload_bytes};  // only now: the length is valid
    tail_ = {};
    routing_pending_ = router_ && header_.payload_bytes > router_prefix_;
    // While the router may still take the tail, only the prefix is stored.
    size_frame_storage(routing_pending_ ? FRAME_HEADER_BYTES + router_prefix_ : total);
    std::memcpy(frame_.data(), header_bytes_.data(), FRAME_HEADER_BYTES);
    have_ = 0;
    state_ = State::PAYLOAD;
  }
  if (state_ == State::PAYLOAD && routing_pending_ && have_ == router_prefix_) {
    routing_pending_ = false;
    const size_t tail_bytes = size_t{header_.payload_bytes} - router_prefix_;
    const std::span<uint8_t> to =
        router_(header_, std::span<const uint8_t>(frame_).subspan(FRAME_HEADER_BYTES, router_prefix_));
    if (to.size() == tail_bytes && to.data() != nullptr) {
      tail_ = to;
    } else {  // declined: the frame is received whole
      const std::vector<uint8_t> head(frame_.begin(), frame_.end());
      size_frame_storage(FRAME_HEADER_BYTES + size_t{header_.payload_bytes});
      std::memcpy(frame_.data(), head.data(), head.size());
    }
  }
  if (state_ == State::PAYLOAD && have_ == header_.payload_bytes) state_ = State::READY;
  return state_ == State::READY;
}

// Sizes frame_ for `total` bytes, taking the recycled storage for a large frame.
void FrameAssembler::size_frame_storage(size_t total) {
  if (total >= RECYCLE_MIN_BYTES && spare_.capacity() >= total && frame_.capacity() < total) {
    frame_ = std::move(spare_);  // already touched: no page faults, and shrinking does not fill
    spare_ = {};
  }
  frame_.resize(total);
}

void FrameAssembler::set_tail_router(size_t prefix_bytes, TailRouter router) {
  router_prefix_ = prefix_bytes;
  router_ = std::move(router);
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
  tail_ = {};
  return out;
}

void FrameAssembler::recycle(std::vector<uint8_t> storage) {
  if (storage.capacity() < RECYCLE_MIN_BYTES) return;
  if (storage.capacity() > FRAME_HEADER_BYTES + size_t{max_payload_}) return;
  if (storage.capacity() <= spare_.capacity()) return;
  spare_ = std::move(storage);  // keeps its size: a later resize to a smaller frame fills nothing
}

void FrameAssembler::reset() {
  state_ = State::HEADER;
  have_ = 0;
  tail_ = {};
  routing_pending_ = false;
  frame_.clear();
}

}  // namespace echelon::wire
