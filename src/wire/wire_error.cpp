#include "wire/wire_error.h"

#include "fmt/format.h"

namespace echelon::wire {

const char* to_string(WireErrc code) {
  switch (code) {
    case WireErrc::TRUNCATED: return "TRUNCATED";
    case WireErrc::TRAILING_BYTES: return "TRAILING_BYTES";
    case WireErrc::BAD_MAGIC: return "BAD_MAGIC";
    case WireErrc::BAD_VERSION: return "BAD_VERSION";
    case WireErrc::UNKNOWN_FRAME_TYPE: return "UNKNOWN_FRAME_TYPE";
    case WireErrc::UNKNOWN_FLAGS: return "UNKNOWN_FLAGS";
    case WireErrc::PAYLOAD_TOO_LARGE: return "PAYLOAD_TOO_LARGE";
    case WireErrc::LENGTH_MISMATCH: return "LENGTH_MISMATCH";
    case WireErrc::UNEXPECTED_PAYLOAD: return "UNEXPECTED_PAYLOAD";
    case WireErrc::WRONG_SIZE: return "WRONG_SIZE";
    case WireErrc::TOO_LONG: return "TOO_LONG";
    case WireErrc::COUNT_TOO_LARGE: return "COUNT_TOO_LARGE";
    case WireErrc::COUNT_EXCEEDS_PAYLOAD: return "COUNT_EXCEEDS_PAYLOAD";
    case WireErrc::UNKNOWN_ENUM: return "UNKNOWN_ENUM";
    case WireErrc::BAD_BOOL: return "BAD_BOOL";
    case WireErrc::RESERVED_NONZERO: return "RESERVED_NONZERO";
    case WireErrc::INVALID_UTF8: return "INVALID_UTF8";
    case WireErrc::INVALID_VALUE: return "INVALID_VALUE";
    case WireErrc::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case WireErrc::LOCAL_BACKING: return "LOCAL_BACKING";
    case WireErrc::BYTE_OFFSET: return "BYTE_OFFSET";
    case WireErrc::INVALID_TENSOR: return "INVALID_TENSOR";
    case WireErrc::STALE_GENERATION: return "STALE_GENERATION";
    case WireErrc::IDENTITY_MISMATCH: return "IDENTITY_MISMATCH";
    case WireErrc::UNSUPPORTED: return "UNSUPPORTED";
    case WireErrc::SEQUENCE_MISMATCH: return "SEQUENCE_MISMATCH";
    case WireErrc::CONTROL_MISMATCH: return "CONTROL_MISMATCH";
    case WireErrc::LANE_BUSY: return "LANE_BUSY";
    case WireErrc::NOT_IN_FLIGHT: return "NOT_IN_FLIGHT";
    case WireErrc::LANE_CLOSED: return "LANE_CLOSED";
  }
  return "UNKNOWN";
}

WireError::WireError(WireErrc code, std::string field, std::string detail)
    : ValidationError(fmt::format("wire {} at {}: {}", to_string(code), field, detail)),
      code_(code),
      field_(std::move(field)),
      detail_(std::move(detail)) {}

WireError WireError::nested_in(const std::string& outer) const {
  return WireError(code_, outer + "." + field_, detail_);
}

void fail(WireErrc code, const char* field, std::string detail) {
  throw WireError(code, field, std::move(detail));
}

}  // namespace echelon::wire
