#include "wire/hello.h"

#include <algorithm>

#include "fmt/format.h"
#include "wire/byte_reader.h"
#include "wire/enum_field.h"
#include "wire/wire_error.h"

namespace echelon::wire {
namespace {

bool all_zero(const AuthBytes& b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 0; });
}

void validate_ext(const HelloExt& ext, uint64_t features) {
  if (ext.ext_version != HELLO_EXT_VERSION)
    fail(WireErrc::UNSUPPORTED, "EchelonHelloExt.ext_version",
         fmt::format("extension version {} is not {}", ext.ext_version, HELLO_EXT_VERSION));
  if (features & FEATURE_PIPELINED_TASKS) {
    if (ext.max_tasks_in_flight < 2 || ext.max_tasks_in_flight > MAX_PIPELINED_TASKS)
      fail(WireErrc::INVALID_VALUE, "EchelonHelloExt.max_tasks_in_flight",
           fmt::format("{} is outside 2..{} with FEATURE_PIPELINED_TASKS", ext.max_tasks_in_flight, MAX_PIPELINED_TASKS));
  } else if (ext.max_tasks_in_flight != 1) {
    fail(WireErrc::INVALID_VALUE, "EchelonHelloExt.max_tasks_in_flight",
         fmt::format("{} must be 1 without FEATURE_PIPELINED_TASKS", ext.max_tasks_in_flight));
  }
  if (!(features & FEATURE_AUTH_HMAC_SHA256)) {
    if (!all_zero(ext.auth_nonce))
      fail(WireErrc::INVALID_VALUE, "EchelonHelloExt.auth_nonce", "must be zero without FEATURE_AUTH_HMAC_SHA256");
    if (!all_zero(ext.auth_mac))
      fail(WireErrc::INVALID_VALUE, "EchelonHelloExt.auth_mac", "must be zero without FEATURE_AUTH_HMAC_SHA256");
  }
}

}  // namespace

void validate(const HelloPayload& h) {
  if (h.session_id == 0) fail(WireErrc::INVALID_VALUE, "HELLO.session_id", "session id 0 is never issued");
  if (h.worker_id < 0) fail(WireErrc::INVALID_VALUE, "HELLO.worker_id", fmt::format("worker id {} is negative", h.worker_id));
  if (h.protocol_version != WIRE_VERSION)
    fail(WireErrc::BAD_VERSION, "HELLO.protocol_version",
         fmt::format("protocol version {} is not {}", h.protocol_version, WIRE_VERSION));
  require_known(h.ready_state, "HELLO.ready_state");
  if (h.feature_flags & ~FEATURES_KNOWN)
    fail(WireErrc::UNKNOWN_FLAGS, "HELLO.feature_flags",
         fmt::format("feature bits {:#x} are reserved", h.feature_flags & ~FEATURES_KNOWN));
  if (h.ext.has_value() != (h.feature_flags != 0))
    fail(WireErrc::INVALID_VALUE, "HELLO.ext",
         h.ext ? "extension block present although feature_flags is 0"
               : "extension block missing although feature_flags is non-zero");
  if (h.ext) validate_ext(*h.ext, h.feature_flags);
}

void write_hello(ByteWriter& w, const HelloPayload& h) {
  validate(h);
  w.u64(h.session_id);
  w.i32(h.worker_id);
  w.u32(h.protocol_version);
  w.text("HELLO.comm_profile", h.comm_profile, MAX_STRING_BYTES);
  w.u64(h.feature_flags);
  w.u32(static_cast<uint32_t>(h.ready_state));
  if (h.ext) {
    w.u32(h.ext->ext_version);
    w.u32(h.ext->max_tasks_in_flight);
    w.fixed(h.ext->auth_nonce);
    w.fixed(h.ext->auth_mac);
    w.reserved_u32();
  }
}

std::vector<uint8_t> encode_hello(const HelloPayload& h) {
  ByteWriter w;
  write_hello(w, h);
  return w.take();
}

HelloPayload decode_hello(std::span<const uint8_t> payload) {
  ByteReader r(payload, "HELLO");
  HelloPayload h;
  h.session_id = r.u64("HELLO.session_id");
  h.worker_id = r.i32("HELLO.worker_id");
  h.protocol_version = r.u32("HELLO.protocol_version");
  h.comm_profile = r.text("HELLO.comm_profile", MAX_STRING_BYTES);
  h.feature_flags = r.u64("HELLO.feature_flags");
  h.ready_state = known_enum<ReadyState>(r.u32("HELLO.ready_state"), "HELLO.ready_state");
  // The block's presence follows from feature_flags alone: absent bytes are a truncation, extra
  // bytes after a flag-less HELLO are trailing bytes.
  if (h.feature_flags != 0) {
    HelloExt ext;
    ext.ext_version = r.u32("EchelonHelloExt.ext_version");
    ext.max_tasks_in_flight = r.u32("EchelonHelloExt.max_tasks_in_flight");
    r.fixed("EchelonHelloExt.auth_nonce", ext.auth_nonce);
    r.fixed("EchelonHelloExt.auth_mac", ext.auth_mac);
    r.reserved_u32("EchelonHelloExt.reserved");
    h.ext = ext;
  }
  r.expect_end();
  validate(h);
  return h;
}

void check_hello_matches_header(const HelloPayload& h, const FrameHeader& header) {
  if (header.type != FrameType::HELLO)
    fail(WireErrc::INVALID_VALUE, "FrameHeader.frame_type", fmt::format("{} is not HELLO", to_string(header.type)));
  if (header.sequence != 0)
    fail(WireErrc::SEQUENCE_MISMATCH, "FrameHeader.sequence", fmt::format("HELLO sequence is {}, must be 0", header.sequence));
  if (h.session_id != header.session_id)
    fail(WireErrc::IDENTITY_MISMATCH, "HELLO.session_id", "differs from the frame header's session_id");
  if (h.worker_id != header.worker_id)
    fail(WireErrc::IDENTITY_MISMATCH, "HELLO.worker_id", "differs from the frame header's worker_id");
  if (h.protocol_version != header.version)
    fail(WireErrc::BAD_VERSION, "HELLO.protocol_version", "differs from the frame header's version");
}

size_t hello_mac_input_bytes(const HelloPayload& h) {
  // session 8 + worker 4 + version 4 + profile (4 + n) + features 8 + ready 4, then ext version,
  // window and nonce (4 + 4 + 32).
  return 32 + h.comm_profile.size() + (h.ext ? 40 : 0);
}

}  // namespace echelon::wire
