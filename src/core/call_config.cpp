#include "echelon/call_config.h"

#include <cstring>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

std::string_view CallConfig::prefix() const {
  return std::string_view(output_prefix, strnlen(output_prefix, CALL_CONFIG_PREFIX_BYTES));
}

void CallConfig::set_prefix(std::string_view prefix) {
  if (prefix.size() >= CALL_CONFIG_PREFIX_BYTES)
    throw ValidationError(fmt::format("CallConfig.output_prefix is {} bytes, at most {} allowed", prefix.size(),
                                      CALL_CONFIG_PREFIX_BYTES - 1));
  std::memset(output_prefix, 0, sizeof output_prefix);
  std::memcpy(output_prefix, prefix.data(), prefix.size());
}

bool CallConfig::any_diagnostics() const {
  return enable_chip_swimlane || enable_dump_args || enable_pmu || enable_dep_gen || enable_scope_stats;
}

void CallConfig::validate() const {
  const std::pair<const char*, int32_t> fields[] = {
      {"aicpu_thread_num", aicpu_thread_num}, {"enable_chip_swimlane", enable_chip_swimlane},
      {"enable_dump_args", enable_dump_args}, {"enable_pmu", enable_pmu},
      {"enable_dep_gen", enable_dep_gen},     {"enable_scope_stats", enable_scope_stats}};
  for (const auto& [name, value] : fields)
    if (value < 0) throw ValidationError(fmt::format("CallConfig.{} is {}, must be >= 0", name, value));
  if (strnlen(output_prefix, CALL_CONFIG_PREFIX_BYTES) == CALL_CONFIG_PREFIX_BYTES)
    throw ValidationError("CallConfig.output_prefix is not NUL-terminated within 1024 bytes");
  if (any_diagnostics() && prefix().empty())
    throw ValidationError("CallConfig.output_prefix must be non-empty when a diagnostic flag is set");
}

bool operator==(const CallConfig& a, const CallConfig& b) {
  return a.aicpu_thread_num == b.aicpu_thread_num && a.enable_chip_swimlane == b.enable_chip_swimlane &&
         a.enable_dump_args == b.enable_dump_args && a.enable_pmu == b.enable_pmu &&
         a.enable_dep_gen == b.enable_dep_gen && a.enable_scope_stats == b.enable_scope_stats &&
         a.prefix() == b.prefix();
}

}  // namespace echelon
