#include "wire/frame_header.h"

#include <algorithm>
#include <cstring>

#include "fmt/format.h"
#include "wire/wire_error.h"

namespace echelon::wire {

const char* to_string(FrameType t) {
  switch (t) {
    case FrameType::HELLO: return "HELLO";
    case FrameType::TASK: return "TASK";
    case FrameType::CONTROL: return "CONTROL";
    case FrameType::CONTROL_REPLY: return "CONTROL_REPLY";
    case FrameType::COMPLETION: return "COMPLETION";
    case FrameType::HEALTH: return "HEALTH";
    case FrameType::SHUTDOWN: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

namespace {

// Field offsets of protocol.md section 2; several are deliberately unaligned.
constexpr size_t kVersionAt = 4, kTypeAt = 8, kSessionAt = 12, kWorkerAt = 20, kSequenceAt = 24,
                 kPayloadAt = 32, kFlagsAt = 36;

// Rules shared by the encoder and decoder, in WIRE-3 order after the magic.
void check_header_fields(uint32_t version, uint32_t type, uint32_t flags, uint64_t sequence,
                         uint32_t payload_bytes, uint32_t max_payload) {
  if (version != WIRE_VERSION)
    fail(WireErrc::BAD_VERSION, "FrameHeader.version", fmt::format("version {} is not {}", version, WIRE_VERSION));
  if (type < FRAME_TYPE_MIN || type > FRAME_TYPE_MAX)
    fail(WireErrc::UNKNOWN_FRAME_TYPE, "FrameHeader.frame_type", fmt::format("frame type {} is unknown", type));
  if (flags & ~FRAME_FLAGS_KNOWN)
    fail(WireErrc::UNKNOWN_FLAGS, "FrameHeader.flags",
         fmt::format("flag bits {:#x} are reserved", flags & ~FRAME_FLAGS_KNOWN));
  const uint32_t ceiling = std::min(max_payload, MAX_FRAME_PAYLOAD_BYTES);
  if (payload_bytes > ceiling)
    fail(WireErrc::PAYLOAD_TOO_LARGE, "FrameHeader.payload_bytes",
         fmt::format("payload of {} bytes exceeds the maximum of {}", payload_bytes, ceiling));
  const auto ft = static_cast<FrameType>(type);
  // HEALTH may carry a payload only as one of the sequence-0 authentication proofs (15.3).
  const bool health_proof = ft == FrameType::HEALTH && sequence == 0 && payload_bytes == HEALTH_PROOF_BYTES;
  if ((ft == FrameType::SHUTDOWN || ft == FrameType::HEALTH) && payload_bytes != 0 && !health_proof)
    fail(WireErrc::UNEXPECTED_PAYLOAD, "FrameHeader.payload_bytes",
         fmt::format("{} is header-only but announces {} payload bytes", to_string(ft), payload_bytes));
}

}  // namespace

FrameHeader decode_frame_header(std::span<const uint8_t> bytes, uint32_t max_payload) {
  if (bytes.size() < FRAME_HEADER_BYTES)
    fail(WireErrc::TRUNCATED, "FrameHeader",
         fmt::format("{} bytes present, the header needs {}", bytes.size(), FRAME_HEADER_BYTES));
  const uint8_t* p = bytes.data();
  if (std::memcmp(p, FRAME_MAGIC.data(), FRAME_MAGIC.size()) != 0)
    fail(WireErrc::BAD_MAGIC, "FrameHeader.magic",
         fmt::format("magic {:02x}{:02x}{:02x}{:02x} is not SLR3", p[0], p[1], p[2], p[3]));
  FrameHeader h;
  h.version = load_le<uint32_t>(p + kVersionAt);
  const uint32_t type = load_le<uint32_t>(p + kTypeAt);
  h.session_id = load_le<uint64_t>(p + kSessionAt);
  h.worker_id = load_le<int32_t>(p + kWorkerAt);
  h.sequence = load_le<uint64_t>(p + kSequenceAt);
  h.payload_bytes = load_le<uint32_t>(p + kPayloadAt);
  h.flags = load_le<uint32_t>(p + kFlagsAt);
  check_header_fields(h.version, type, h.flags, h.sequence, h.payload_bytes, max_payload);
  h.type = static_cast<FrameType>(type);
  return h;
}

void encode_frame_header(const FrameHeader& h, std::span<uint8_t, FRAME_HEADER_BYTES> out, uint32_t max_payload) {
  check_header_fields(h.version, static_cast<uint32_t>(h.type), h.flags, h.sequence, h.payload_bytes, max_payload);
  uint8_t* p = out.data();
  std::memcpy(p, FRAME_MAGIC.data(), FRAME_MAGIC.size());
  store_le(p + kVersionAt, h.version);
  store_le(p + kTypeAt, static_cast<uint32_t>(h.type));
  store_le(p + kSessionAt, h.session_id);
  store_le(p + kWorkerAt, h.worker_id);
  store_le(p + kSequenceAt, h.sequence);
  store_le(p + kPayloadAt, h.payload_bytes);
  store_le(p + kFlagsAt, h.flags);
}

FrameView decode_frame(std::span<const uint8_t> bytes, uint32_t max_payload) {
  FrameView v;
  v.header = decode_frame_header(bytes, max_payload);
  const size_t present = bytes.size() - FRAME_HEADER_BYTES;
  if (present != v.header.payload_bytes)
    fail(WireErrc::LENGTH_MISMATCH, "FrameHeader.payload_bytes",
         fmt::format("header announces {} payload bytes but {} follow", v.header.payload_bytes, present));
  v.payload = bytes.subspan(FRAME_HEADER_BYTES);
  return v;
}

void expect_reply_frame(const FrameView& frame, FrameType type, uint64_t awaited) {
  if (frame.header.type != type)
    fail(WireErrc::INVALID_VALUE, "FrameHeader.frame_type",
         fmt::format("{} received while a {} was awaited", to_string(frame.header.type), to_string(type)));
  if (frame.header.sequence != awaited)
    fail(WireErrc::SEQUENCE_MISMATCH, "FrameHeader.sequence",
         fmt::format("{} header sequence {} is not the awaited {}", to_string(type), frame.header.sequence, awaited));
}

size_t begin_frame(ByteWriter& out, FrameType type, const FrameRoute& route) {
  const size_t start = out.size();
  out.raw(FRAME_MAGIC);
  out.u32(WIRE_VERSION);
  out.u32(static_cast<uint32_t>(type));
  out.u64(route.session_id);
  out.i32(route.worker_id);
  out.u64(route.sequence);
  out.u32(0);  // payload_bytes, patched by end_frame
  out.u32(route.flags);
  return start;
}

void end_frame(ByteWriter& out, size_t frame_start, uint32_t max_payload) {
  const size_t payload = out.size() - frame_start - FRAME_HEADER_BYTES;
  const uint8_t* h = out.bytes().data() + frame_start;
  // Clamp so an oversized payload still reaches the checker as "too large", not a wrapped length.
  const uint32_t announced = payload > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(payload);
  check_header_fields(load_le<uint32_t>(h + kVersionAt), load_le<uint32_t>(h + kTypeAt),
                      load_le<uint32_t>(h + kFlagsAt), load_le<uint64_t>(h + kSequenceAt), announced, max_payload);
  out.patch_u32(frame_start + kPayloadAt, announced);
}

std::vector<uint8_t> encode_frame(FrameType type, const FrameRoute& route, std::span<const uint8_t> payload) {
  ByteWriter w(FRAME_HEADER_BYTES + payload.size());
  const size_t start = begin_frame(w, type, route);
  w.raw(payload);
  end_frame(w, start);
  return w.take();
}

}  // namespace echelon::wire
