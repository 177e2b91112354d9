#include "wire/byte_reader.h"

#include "fmt/format.h"
#include "wire/utf8.h"
#include "wire/wire_error.h"

namespace echelon::wire {

void ByteReader::truncated(const char* field, size_t n) const {
  fail(WireErrc::TRUNCATED, field,
       fmt::format("{} needs {} bytes at offset {} but only {} remain", record_, n, pos_, remaining()));
}

bool ByteReader::boolean(const char* field) {
  const uint8_t v = u8(field);
  if (v > 1) fail(WireErrc::BAD_BOOL, field, fmt::format("boolean byte is {}, must be 0 or 1", v));
  return v == 1;
}

void ByteReader::reserved_u32(const char* field) {
  const uint32_t v = u32(field);
  if (v != 0) fail(WireErrc::RESERVED_NONZERO, field, fmt::format("reserved field is {:#x}, must be 0", v));
}

std::span<const uint8_t> ByteReader::blob(const char* field, size_t max) {
  const uint32_t len = u32(field);
  if (len > max) fail(WireErrc::TOO_LONG, field, fmt::format("length {} exceeds the maximum of {}", len, max));
  return raw(field, len);
}

std::string_view ByteReader::text(const char* field, size_t max) {
  const auto bytes = blob(field, max);
  const std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!is_valid_utf8(s)) fail(WireErrc::INVALID_UTF8, field, "text is not valid UTF-8");
  return s;
}

uint32_t ByteReader::count(const char* field, size_t max, size_t min_element_bytes, size_t min_bytes_after) {
  const uint32_t n = u32(field);
  if (n > max) fail(WireErrc::COUNT_TOO_LARGE, field, fmt::format("count {} exceeds the maximum of {}", n, max));
  // n <= max keeps the product far from overflow for every maximum this protocol has.
  const uint64_t need = uint64_t{n} * min_element_bytes + min_bytes_after;
  if (need > remaining())
    fail(WireErrc::COUNT_EXCEEDS_PAYLOAD, field,
         fmt::format("count {} needs at least {} bytes but only {} remain", n, need, remaining()));
  return n;
}

void ByteReader::expect_end() const {
  if (remaining() != 0)
    fail(WireErrc::TRAILING_BYTES, record_, fmt::format("{} trailing bytes after the last field", remaining()));
}

}  // namespace echelon::wire
