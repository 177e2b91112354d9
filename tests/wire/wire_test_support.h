// Shared fixtures of the codec tests: sample payloads, an error matcher, and a little-endian byte
// builder that is deliberately independent of the codec (so expected bytes are derived from the
// spec's layout, not from the encoder under test).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/buffer_controls.h"
#include "wire/completion.h"
#include "wire/control.h"
#include "wire/frame_codec.h"
#include "wire/hello.h"
#include "wire/register_controls.h"
#include "wire/task_payload.h"
#include "wire/wire_error.h"

namespace echelon::wire::test {

using Bytes = std::vector<uint8_t>;

// Runs `statement`, expecting a WireError with `code` whose field contains `field_part`.
#define EXPECT_WIRE_ERROR(statement, expected_code, field_part)                                          \
  do {                                                                                                   \
    try {                                                                                                \
      statement;                                                                                         \
      ADD_FAILURE() << "expected WireError " << ::echelon::wire::to_string(expected_code) << " at "      \
                    << (field_part) << ", nothing was thrown";                                           \
    } catch (const ::echelon::wire::WireError& wire_error_) {                                            \
      EXPECT_EQ(wire_error_.code(), expected_code) << wire_error_.what();                                \
      EXPECT_NE(wire_error_.field().find(field_part), std::string::npos) << wire_error_.what();          \
    }                                                                                                    \
  } while (0)

// Appends spec fields little-endian, byte by byte, without touching the codec.
class SpecBytes {
 public:
  SpecBytes& u8(uint8_t v) { return put(v, 1); }
  SpecBytes& u16(uint16_t v) { return put(v, 2); }
  SpecBytes& u32(uint32_t v) { return put(v, 4); }
  SpecBytes& i32(int32_t v) { return put(static_cast<uint32_t>(v), 4); }
  SpecBytes& u64(uint64_t v) { return put(v, 8); }
  SpecBytes& raw(std::span<const uint8_t> b) {
    out_.insert(out_.end(), b.begin(), b.end());
    return *this;
  }
  SpecBytes& ascii(std::string_view s) {
    for (char c : s) out_.push_back(static_cast<uint8_t>(c));
    return *this;
  }
  SpecBytes& str(std::string_view s) { return u32(static_cast<uint32_t>(s.size())).ascii(s); }
  SpecBytes& fill(uint8_t v, size_t n) {
    out_.insert(out_.end(), n, v);
    return *this;
  }
  const Bytes& bytes() const { return out_; }
  size_t size() const { return out_.size(); }

 private:
  SpecBytes& put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes out_;
};

// A 40-byte header built from the spec table.
Bytes spec_header(uint32_t type, uint64_t session, int32_t worker, uint64_t sequence, uint32_t payload_bytes,
                  uint32_t flags = 0, uint32_t version = 1);
Bytes concat(const Bytes& a, const Bytes& b);
std::string to_hex(std::span<const uint8_t> bytes);
Bytes from_hex(std::string_view text);  // ignores whitespace and '#' comments to end of line

Digest digest_of(uint8_t seed);

// Valid sample payloads.
HelloPayload sample_hello(bool with_extension);
RemoteTensorDescWire device_desc(int32_t owner, uint64_t buffer, uint64_t offset, uint64_t nbytes);
RemoteTensorDescWire window_desc(int32_t owner, uint64_t buffer, uint64_t import_id, uint64_t nbytes);
RemoteTensorDescWire inline_desc(uint64_t arena_offset, uint64_t nbytes);
// A task with a device, a window and an inline argument, three scalars and a 64-byte arena.
TaskPayload sample_task();
// `tensors` arguments (alternating device/window) of 64 float32 each, `scalars` scalars, and
// `inline_bytes` of arena carried by one extra HOST_INLINE argument when non-zero.
TaskPayload make_task(size_t tensors, size_t scalars, size_t inline_bytes);
ExportBufferResult sample_export_result();
ImportBufferRequest sample_import_request();
ImportBufferResult sample_import_result();
ChipCallablePayload sample_chip_payload();

// A random valid typed frame of the given type (for CONTROL / CONTROL_REPLY, of a random control).
TypedFrame random_frame(std::mt19937_64& rng, FrameType type);
// One valid typed frame per frame type and per control request/result layout.
std::vector<std::pair<std::string, TypedFrame>> representative_frames();

}  // namespace echelon::wire::test
