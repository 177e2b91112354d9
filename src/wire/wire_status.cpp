#include "wire/wire_status.h"

#include "echelon/errors.h"
#include "wire/utf8.h"
#include "wire/wire_error.h"

namespace echelon::wire {

const char* to_string(WireStatus s) {
  switch (s) {
    case WireStatus::OK: return "OK";
    case WireStatus::FAILED: return "FAILED";
    case WireStatus::REJECTED: return "REJECTED";
    case WireStatus::NOT_FOUND: return "NOT_FOUND";
    case WireStatus::STALE: return "STALE";
    case WireStatus::UNSUPPORTED: return "UNSUPPORTED";
  }
  return "UNKNOWN";
}

WireStatus status_for_rejection(const WireError& error) {
  return error.code() == WireErrc::UNSUPPORTED ? WireStatus::UNSUPPORTED : WireStatus::REJECTED;
}

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not one.
size_t valid_sequence_at(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (text.size() - i < len) return 0;
  return is_valid_utf8(text.substr(i, len)) ? len : 0;
}

}  // namespace

std::string bounded_error_text(std::string_view text, size_t max_bytes) {
  // Only the part that can survive the cut needs repairing (a '?' replaces one byte 1:1).
  const std::string_view head = text.substr(0, std::min(text.size(), max_bytes + 4));
  std::string repaired;
  if (is_valid_utf8(head)) {
    repaired.assign(head);
  } else {
    repaired.reserve(head.size());
    for (size_t i = 0; i < head.size();) {
      const size_t len = valid_sequence_at(head, i);
      if (len == 0) {
        repaired.push_back('?');
        ++i;
      } else {
        repaired.append(head.substr(i, len));
        i += len;
      }
    }
  }
  return truncate_utf8(repaired, max_bytes);
}

}  // namespace echelon::wire
