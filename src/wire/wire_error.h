// The one exception type of the codec. Every rejection carries a code (what kind of rule broke)
// and the field it broke at, so callers can map it to a reply code and tests can assert on it.
#pragma once

#include <cstdint>
#include <string>

#include "echelon/errors.h"

namespace echelon::wire {

enum class WireErrc : uint16_t {
  TRUNCATED,              // ran out of bytes mid-field
  TRAILING_BYTES,         // bytes left after the last field
  BAD_MAGIC,
  BAD_VERSION,
  UNKNOWN_FRAME_TYPE,
  UNKNOWN_FLAGS,
  PAYLOAD_TOO_LARGE,      // payload_bytes above the (negotiated) maximum
  LENGTH_MISMATCH,        // payload_bytes disagrees with the bytes present
  UNEXPECTED_PAYLOAD,     // a header-only frame carried a payload
  WRONG_SIZE,             // a fixed-size record of the wrong length
  TOO_LONG,               // string or blob over its field maximum
  COUNT_TOO_LARGE,        // repeated-field count over its maximum
  COUNT_EXCEEDS_PAYLOAD,  // the count's minimum encoding is longer than what is left
  UNKNOWN_ENUM,
  BAD_BOOL,
  RESERVED_NONZERO,
  INVALID_UTF8,
  INVALID_VALUE,          // a value rule ("must be non-zero", "must be >= 0", ...)
  OUT_OF_RANGE,           // an offset/length pair outside what it points into, or overflowing
  LOCAL_BACKING,          // a TASK tensor names a local backing instead of a sidecar
  BYTE_OFFSET,            // a TASK tensor carries a non-zero byte offset
  INVALID_TENSOR,         // the decoded tensor fails the common tensor validation
  STALE_GENERATION,       // a generation that can never match the live entry
  IDENTITY_MISMATCH,      // two fields that must name the same thing disagree
  UNSUPPORTED,            // a known control/version this codec does not implement
  SEQUENCE_MISMATCH,
  CONTROL_MISMATCH,       // reply name or version differs from the request
  LANE_BUSY,              // command lane: another request is in flight
  NOT_IN_FLIGHT,          // command lane: reply for nothing awaited
  LANE_CLOSED,            // command lane: used after SHUTDOWN
};

const char* to_string(WireErrc code);

class WireError : public ValidationError {
 public:
  WireError(WireErrc code, std::string field, std::string detail);

  WireErrc code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }
  const std::string& detail() const noexcept { return detail_; }

  // The same error with `outer` prepended to the field ("tensors[3]." + "TensorWire.ndims"), so a
  // nested decoder can stay ignorant of where its record sits.
  WireError nested_in(const std::string& outer) const;

 private:
  WireErrc code_;
  std::string field_;
  std::string detail_;
};

[[noreturn]] void fail(WireErrc code, const char* field, std::string detail);

}  // namespace echelon::wire
