// Strict UTF-8 check for text fields (protocol.md 14 rule 13): no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequence.
#pragma once

#include <string_view>

namespace echelon::wire {

bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace echelon::wire
