#include "wire/call_config_wire.h"

#include <cstring>

#include "fmt/format.h"
#include "wire/limits.h"
#include "wire/wire_error.h"

namespace echelon::wire {
namespace {

void validate_config(const CallConfig& c) {
  try {
    c.validate();
  } catch (const ValidationError& e) {
    fail(WireErrc::INVALID_VALUE, "CallConfigWire", e.what());
  }
}

}  // namespace

void write_call_config(ByteWriter& w, const CallConfig& c) {
  validate_config(c);
  w.i32(c.aicpu_thread_num);
  w.i32(c.enable_chip_swimlane);
  w.i32(c.enable_dump_args);
  w.i32(c.enable_pmu);
  w.i32(c.enable_dep_gen);
  w.i32(c.enable_scope_stats);
  w.text("CallConfigWire.output_prefix", c.prefix(), MAX_OUTPUT_PREFIX_BYTES);
}

void read_call_config(ByteReader& r, CallConfig& c) {
  c.aicpu_thread_num = r.i32("CallConfigWire.aicpu_thread_num");
  c.enable_chip_swimlane = r.i32("CallConfigWire.enable_chip_swimlane");
  c.enable_dump_args = r.i32("CallConfigWire.enable_dump_args");
  c.enable_pmu = r.i32("CallConfigWire.enable_pmu");
  c.enable_dep_gen = r.i32("CallConfigWire.enable_dep_gen");
  c.enable_scope_stats = r.i32("CallConfigWire.enable_scope_stats");
  // The string maximum is 1024 but the local field keeps a NUL, so 1023 is the real bound.
  const std::string_view prefix = r.text("CallConfigWire.output_prefix", MAX_OUTPUT_PREFIX_BYTES);
  if (prefix.find('\0') != std::string_view::npos)
    fail(WireErrc::INVALID_VALUE, "CallConfigWire.output_prefix", "contains a NUL byte");
  std::memset(c.output_prefix, 0, sizeof c.output_prefix);
  std::memcpy(c.output_prefix, prefix.data(), prefix.size());
  validate_config(c);
}

}  // namespace echelon::wire
