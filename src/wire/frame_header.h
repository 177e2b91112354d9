// The 40-byte SLR3 frame header (protocol.md section 2) and whole-frame framing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "wire/byte_writer.h"
#include "wire/limits.h"

namespace echelon::wire {

enum class FrameType : uint32_t {
  HELLO = 1,
  TASK = 2,
  CONTROL = 3,
  CONTROL_REPLY = 4,
  COMPLETION = 5,
  HEALTH = 6,
  SHUTDOWN = 7,
};
inline constexpr uint32_t FRAME_TYPE_MIN = 1;
inline constexpr uint32_t FRAME_TYPE_MAX = 7;
constexpr bool is_known(FrameType t) {
  return static_cast<uint32_t>(t) >= FRAME_TYPE_MIN && static_cast<uint32_t>(t) <= FRAME_TYPE_MAX;
}
const char* to_string(FrameType t);

inline constexpr std::array<uint8_t, 4> FRAME_MAGIC = {0x53, 0x4C, 0x52, 0x33};  // "SLR3"
inline constexpr uint32_t FRAME_FLAG_GROUP_TARGET = 0x1;
inline constexpr uint32_t FRAME_FLAGS_KNOWN = FRAME_FLAG_GROUP_TARGET;

struct FrameHeader {
  uint32_t version = WIRE_VERSION;
  FrameType type = FrameType::HELLO;
  uint64_t session_id = 0;
  int32_t worker_id = 0;
  uint64_t sequence = 0;
  uint32_t payload_bytes = 0;
  uint32_t flags = 0;

  friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

// Who a frame is for and where it sits in its lane; the rest of the header is derived.
struct FrameRoute {
  uint64_t session_id = 0;
  int32_t worker_id = 0;
  uint64_t sequence = 0;
  uint32_t flags = 0;
};

// Checks the header in the order of WIRE-3 (all but the "exactly payload_bytes follow" rule, which
// needs the payload): at least 40 bytes, magic, version, type, flags, payload maximum, and the
// header-only rule for HEALTH/SHUTDOWN. Bytes after the header are ignored.
FrameHeader decode_frame_header(std::span<const uint8_t> bytes,
                                uint32_t max_payload = MAX_FRAME_PAYLOAD_BYTES);
// Writes exactly FRAME_HEADER_BYTES; refuses a header its decoder would refuse.
void encode_frame_header(const FrameHeader& header, std::span<uint8_t, FRAME_HEADER_BYTES> out,
                         uint32_t max_payload = MAX_FRAME_PAYLOAD_BYTES);

// A decoded frame; `payload` views the input.
struct FrameView {
  FrameHeader header;
  std::span<const uint8_t> payload;
};

// A whole frame: the header checks plus exactly payload_bytes following it (LENGTH_MISMATCH).
FrameView decode_frame(std::span<const uint8_t> bytes, uint32_t max_payload = MAX_FRAME_PAYLOAD_BYTES);

// A reply must be of the awaited type and echo the awaited sequence in its header.
void expect_reply_frame(const FrameView& frame, FrameType type, uint64_t awaited_sequence);

// Appends a frame header with a placeholder length; returns where it starts. The payload encoder
// then appends to the same writer, and end_frame patches payload_bytes and enforces the maximum.
size_t begin_frame(ByteWriter& out, FrameType type, const FrameRoute& route);
void end_frame(ByteWriter& out, size_t frame_start, uint32_t max_payload = MAX_FRAME_PAYLOAD_BYTES);

std::vector<uint8_t> encode_frame(FrameType type, const FrameRoute& route, std::span<const uint8_t> payload);

}  // namespace echelon::wire
