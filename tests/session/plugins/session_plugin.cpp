// Orchestration entries for the session runner tests, loaded by the runner from a plugin dir.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include "echelon/orchestrator.h"
#include "echelon/plugin.h"

namespace {

// Sums the bytes of every (HOST_INLINE) tensor and checks the total against scalar 0, so a
// success proves the inline arena reached the entry intact.
void check_inline_sum(echelon::Orchestrator&, const echelon::TaskArgs& args, const echelon::CallConfig&) {
  uint64_t sum = 0;
  for (size_t i = 0; i < args.tensor_count(); ++i) {
    const auto& t = args.tensor(i);
    if (args.tag(i) != echelon::TensorTag::NO_DEP) throw std::runtime_error("received tensor is not NO_DEP");
    const auto* bytes = reinterpret_cast<const uint8_t*>(t.data());
    for (uint64_t b = 0; b < t.extent_bytes(); ++b) sum += bytes[b];
  }
  if (args.scalar_count() != 1 || args.scalar_bits(0) != sum)
    throw std::runtime_error("inline sum " + std::to_string(sum) + " does not match the expected scalar");
}

void always_fail(echelon::Orchestrator&, const echelon::TaskArgs&, const echelon::CallConfig&) {
  throw std::runtime_error("session test entry failed on purpose");
}

// Runs for scalar 0 milliseconds, so health frames must flow while the command lane is busy.
void sleep_ms(echelon::Orchestrator&, const echelon::TaskArgs& args, const echelon::CallConfig&) {
  std::this_thread::sleep_for(std::chrono::milliseconds(args.scalar_as<uint64_t>(0)));
}

}  // namespace

ECHELON_PLUGIN();
ECHELON_ORCH_ENTRY(session_check_inline_sum, check_inline_sum)
ECHELON_ORCH_ENTRY(session_always_fail, always_fail)
ECHELON_ORCH_ENTRY(session_sleep_ms, sleep_ms)
