// Value rules that many records share, each failing with the field it was given.
#pragma once

#include <cstdint>

#include "fmt/format.h"
#include "wire/wire_error.h"

namespace echelon::wire {

inline void require_nonzero(uint64_t value, const char* field) {
  if (value == 0) fail(WireErrc::INVALID_VALUE, field, "must be non-zero");
}

inline void require_zero(uint64_t value, const char* field, const char* why) {
  if (value != 0) fail(WireErrc::INVALID_VALUE, field, fmt::format("is {}, must be 0 {}", value, why));
}

inline void require_non_negative(int32_t value, const char* field) {
  if (value < 0) fail(WireErrc::INVALID_VALUE, field, fmt::format("{} is negative", value));
}

// offset + length must not wrap (compared as length <= max - offset).
inline void require_no_overflow(uint64_t offset, uint64_t length, const char* field) {
  if (length > UINT64_MAX - offset)
    fail(WireErrc::OUT_OF_RANGE, field, fmt::format("offset {} + length {} overflows 64 bits", offset, length));
}

inline void require_equal(uint64_t got, uint64_t want, WireErrc code, const char* field, const char* what) {
  if (got != want) fail(code, field, fmt::format("{} {} differs from the expected {}", what, got, want));
}

}  // namespace echelon::wire
