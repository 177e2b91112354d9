// Enums travel as fixed-width integers and are only ever cast after their value was checked
// (protocol.md 3 rule 3). Each wire enum provides a constexpr `is_known(E)` found by ADL.
#pragma once

#include <cstdint>
#include <type_traits>

#include "fmt/format.h"
#include "wire/wire_error.h"

namespace echelon::wire {

// Converts a raw wire integer to `E`, or throws UNKNOWN_ENUM naming `field`.
template <typename E, typename Raw>
E known_enum(Raw raw, const char* field) {
  static_assert(std::is_enum_v<E> && std::is_integral_v<Raw>);
  const auto value = static_cast<E>(static_cast<std::underlying_type_t<E>>(raw));
  if (static_cast<Raw>(static_cast<std::underlying_type_t<E>>(raw)) != raw || !is_known(value))
    fail(WireErrc::UNKNOWN_ENUM, field, fmt::format("value {} is not a known value", raw));
  return value;
}

// Encoder side of the same rule: a caller-built enum holding an unlisted value is refused.
template <typename E>
void require_known(E value, const char* field) {
  if (!is_known(value))
    fail(WireErrc::UNKNOWN_ENUM, field,
         fmt::format("value {} is not a known value", static_cast<std::underlying_type_t<E>>(value)));
}

}  // namespace echelon::wire
