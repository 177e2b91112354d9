// A well-formed test plugin: one orchestration entry and one sub entry.
#include <stdexcept>

#include "echelon/orchestrator.h"
#include "echelon/plugin.h"

namespace {

// Submits scalar(0) copies of the sub callable named by hashid in scalar... kept simple: fails on
// request, otherwise writes nothing (its effect is checked through the run's outcome).
void orchestrate(echelon::Orchestrator&, const echelon::TaskArgs& args, const echelon::CallConfig&) {
  if (args.scalar_count() > 0 && args.scalar_as<int64_t>(0) < 0) throw std::runtime_error("orch entry refused a negative scalar");
}

void write_answer(const echelon::SubCall& call) { *call.data_as<int64_t>(0) = 42 + PLUGIN_VARIANT; }

}  // namespace

ECHELON_PLUGIN();
ECHELON_ORCH_ENTRY(test_orch, orchestrate)
ECHELON_SUB_ENTRY(test_sub, write_answer)
