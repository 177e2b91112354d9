#include "wire/byte_writer.h"

#include <algorithm>
#include <cstring>

#include "fmt/format.h"
#include "wire/utf8.h"
#include "wire/wire_error.h"

namespace echelon::wire {

std::vector<uint8_t> ByteWriter::take() {
  buf_.resize(pos_);
  pos_ = 0;
  return std::move(buf_);
}

void ByteWriter::expand(size_t n) {
  buf_.resize(std::max({buf_.size() * 2, pos_ + n, size_t{256}}));
}

void ByteWriter::raw(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  std::memcpy(grow(bytes.size()), bytes.data(), bytes.size());
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
