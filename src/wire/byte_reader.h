// Bounds-checked little-endian cursor over an input span. Nothing it returns owns memory: blobs
// and strings are views into the input, and every length is checked against both its field
// maximum and the bytes remaining before the caller could allocate for it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "wire/le_bytes.h"

namespace echelon::wire {

class ByteReader {
 public:
  // `record` names the payload in error messages when a field name alone is ambiguous.
  ByteReader(std::span<const uint8_t> input, const char* record) noexcept : in_(input), record_(record) {}

  size_t remaining() const noexcept { return in_.size() - pos_; }
  size_t position() const noexcept { return pos_; }

  uint8_t u8(const char* field) { return *take(field, 1); }
  uint16_t u16(const char* field) { return load_le<uint16_t>(take(field, 2)); }
  uint32_t u32(const char* field) { return load_le<uint32_t>(take(field, 4)); }
  uint64_t u64(const char* field) { return load_le<uint64_t>(take(field, 8)); }
  int32_t i32(const char* field) { return load_le<int32_t>(take(field, 4)); }
  // 0 or 1; anything else is BAD_BOOL.
  bool boolean(const char* field);
  std::span<const uint8_t> raw(const char* field, size_t n) { return {take(field, n), n}; }
  template <size_t N>
  void fixed(const char* field, std::array<uint8_t, N>& out) {
    std::memcpy(out.data(), take(field, N), N);
  }
  // Must read as zero (RESERVED_NONZERO).
  void reserved_u32(const char* field);

  // u32 length then bytes: TOO_LONG above `max`, TRUNCATED past the end.
  std::span<const uint8_t> blob(const char* field, size_t max);
  // As blob, and valid UTF-8 (INVALID_UTF8).
  std::string_view text(const char* field, size_t max);
  // u32 count: COUNT_TOO_LARGE above `max`, COUNT_EXCEEDS_PAYLOAD when `count * min_element_bytes`
  // (plus `min_bytes_after`, what must still follow the elements) cannot fit in what is left.
  uint32_t count(const char* field, size_t max, size_t min_element_bytes, size_t min_bytes_after = 0);

  // TRAILING_BYTES unless everything was consumed.
  void expect_end() const;

 private:
  const uint8_t* take(const char* field, size_t n) {
    if (n > remaining()) truncated(field, n);
    const uint8_t* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] void truncated(const char* field, size_t n) const;

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  const char* record_;
};

}  // namespace echelon::wire
