// Growable little-endian output buffer for encoders. Bounded fields (strings, blobs, counts) are
// checked here with the field name, so an encoder can never emit what its decoder would refuse.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "wire/le_bytes.h"

namespace echelon::wire {

class ByteWriter {
 public:
  ByteWriter() = default;
  // Reserves capacity only: nothing is zero-filled ahead of the bytes written (a frame may carry
  // 16 MiB of copy data, so every pass over it counts).
  explicit ByteWriter(size_t reserve_bytes) { buf_.reserve(reserve_bytes); }

  // Forgets the content but keeps the storage, so a reused writer encodes without allocating.
  void clear() noexcept { buf_.clear(); }
  size_t size() const noexcept { return buf_.size(); }
  std::span<const uint8_t> bytes() const noexcept { return {buf_.data(), buf_.size()}; }
  std::vector<uint8_t> take();

  void u8(uint8_t v) { *grow(1) = v; }
  void u16(uint16_t v) { store_le(grow(2), v); }
  void u32(uint32_t v) { store_le(grow(4), v); }
  void u64(uint64_t v) { store_le(grow(8), v); }
  void i32(int32_t v) { store_le(grow(4), v); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void raw(std::span<const uint8_t> bytes);
  template <size_t N>
  void fixed(const std::array<uint8_t, N>& bytes) { raw(bytes); }
  void reserved_u32() { u32(0); }

  // u32 length + bytes; throws WireError(TOO_LONG) naming `field` above `max`.
  void blob(const char* field, std::span<const uint8_t> bytes, size_t max);
  // As blob, and the bytes must be valid UTF-8 (INVALID_UTF8).
  void text(const char* field, std::string_view text, size_t max);
  // u32 element count; throws WireError(COUNT_TOO_LARGE) above `max`.
  void count(const char* field, size_t n, size_t max);

  // Overwrites a u32 written earlier (frame length patching).
  void patch_u32(size_t at, uint32_t v) noexcept { store_le(buf_.data() + at, v); }

 private:
  // The vector's size is the write position; only the `n` bytes about to be written are
  // value-initialised, never the spare capacity.
  uint8_t* grow(size_t n) {
    const size_t at = buf_.size();
    if (buf_.capacity() - at < n) expand(n);
    buf_.resize(at + n);
    return buf_.data() + at;
  }
  void expand(size_t n);

  std::vector<uint8_t> buf_;
};

}  // namespace echelon::wire
