#include "wire/byte_writer.h"

#include <algorithm>
#include <cstring>

#include "fmt/format.h"
#include "wire/utf8.h"
#include "wire/wire_error.h"

namespace echelon::wire {

std::vector<uint8_t> ByteWriter::take() {
  std::vector<uint8_t> out = std::move(buf_);
  buf_ = {};
  return out;
}

void ByteWriter::expand(size_t n) {
  buf_.reserve(std::max({buf_.capacity() * 2, buf_.size() + n, size_t{256}}));
}

void ByteWriter::raw(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  if (buf_.capacity() - buf_.size() < bytes.size()) expand(bytes.size());
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());  // one pass, no zero-fill first
}

void ByteWriter::blob(const char* field, std::span<const uint8_t> bytes, size_t max) {
  if (bytes.size() > max)
    fail(WireErrc::TOO_LONG, field, fmt::format("{} bytes exceed the maximum of {}", bytes.size(), max));
  u32(static_cast<uint32_t>(bytes.size()));
  raw(bytes);
}

void ByteWriter::text(const char* field, std::string_view text, size_t max) {
  if (text.size() <= max && !is_valid_utf8(text)) fail(WireErrc::INVALID_UTF8, field, "text is not valid UTF-8");
  blob(field, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, max);
}

void ByteWriter::count(const char* field, size_t n, size_t max) {
  if (n > max) fail(WireErrc::COUNT_TOO_LARGE, field, fmt::format("count {} exceeds the maximum of {}", n, max));
  u32(static_cast<uint32_t>(n));
}

}  // namespace echelon::wire
