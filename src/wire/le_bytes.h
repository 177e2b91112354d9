// Little-endian loads and stores of fixed-width integers at unaligned positions. Only single
// integers go through memcpy; records are always built field by field.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace echelon::wire {

template <typename T>
inline void store_le(uint8_t* out, T value) noexcept {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(value);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &u, sizeof u);
  } else {
    for (size_t i = 0; i < sizeof u; ++i) out[i] = static_cast<uint8_t>(u >> (8 * i));
  }
}

template <typename T>
inline T load_le(const uint8_t* in) noexcept {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U u = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&u, in, sizeof u);
  } else {
    for (size_t i = 0; i < sizeof u; ++i) u |= static_cast<U>(in[i]) << (8 * i);
  }
  return static_cast<T>(u);
}

}  // namespace echelon::wire
