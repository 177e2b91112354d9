// One received SLR3 frame whose header has passed the wire checks (WIRE-3). `bytes` is the whole
// frame, header included, so it feeds wire::decode_frame / wire::decode_typed_frame directly.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "wire/frame_header.h"

namespace echelon::transport {

struct InboundFrame {
  wire::FrameHeader header;
  std::vector<uint8_t> bytes;
  // The payload past the router's prefix went straight to the consumer's memory
  // (FrameChannel::set_tail_router): `bytes` holds only the header and that prefix.
  bool tail_routed = false;

  std::span<const uint8_t> payload() const {
    return std::span<const uint8_t>(bytes).subspan(wire::FRAME_HEADER_BYTES);
  }
};

}  // namespace echelon::transport
