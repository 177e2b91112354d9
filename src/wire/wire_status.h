// Result codes shared by COMPLETION and CONTROL_REPLY (protocol.md section 7), and the bounded
// error text both carry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "wire/limits.h"

namespace echelon::wire {

enum class WireStatus : int32_t {
  OK = 0,
  FAILED = 1,
  REJECTED = 2,
  NOT_FOUND = 3,
  STALE = 4,
  UNSUPPORTED = 5,
};
constexpr bool is_known(WireStatus s) {
  return static_cast<int32_t>(s) >= 0 && static_cast<int32_t>(s) <= 5;
}
const char* to_string(WireStatus s);

// How a receiver reads a code: unknown non-zero values (negative ones too) mean FAILED.
constexpr WireStatus status_from_code(int32_t code) {
  const auto s = static_cast<WireStatus>(code);
  return is_known(s) ? s : WireStatus::FAILED;
}

class WireError;
// The code a runner answers when a request's payload fails to decode: UNSUPPORTED for a known
// but unimplemented control or version, REJECTED for everything else.
WireStatus status_for_rejection(const WireError& error);

// Error text as it may be sent: invalid UTF-8 bytes replaced by '?', then cut to at most
// MAX_ERROR_BYTES on a character boundary.
std::string bounded_error_text(std::string_view text, size_t max_bytes = MAX_ERROR_BYTES);

}  // namespace echelon::wire
