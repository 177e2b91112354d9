// Per-call configuration, used unchanged at every level (runtime.md RT-208, protocol.md 6.2).
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>

namespace echelon {

inline constexpr size_t CALL_CONFIG_PREFIX_BYTES = 1024;  // including the NUL

struct CallConfig {
  int32_t aicpu_thread_num = 0;  // parallelism hint for chip kernels; 0 = kernel default
  int32_t enable_chip_swimlane = 0;
  int32_t enable_dump_args = 0;
  int32_t enable_pmu = 0;
  int32_t enable_dep_gen = 0;
  int32_t enable_scope_stats = 0;
  char output_prefix[CALL_CONFIG_PREFIX_BYTES]{};  // NUL-terminated UTF-8

  std::string_view prefix() const;
  // Throws ValidationError if `prefix` does not fit (≤ 1023 bytes).
  void set_prefix(std::string_view prefix);
  bool any_diagnostics() const;
  // Throws ValidationError naming the field: negative values, unterminated prefix, or diagnostics
  // switched on without an output prefix.
  void validate() const;

  friend bool operator==(const CallConfig& a, const CallConfig& b);
};
static_assert(std::is_trivially_copyable_v<CallConfig>);

}  // namespace echelon
