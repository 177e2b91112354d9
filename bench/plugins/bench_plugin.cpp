// The orchestration entries the remote bench dispatches: a no-op, so a figure is pure overhead.
#include "echelon/orchestrator.h"
#include "echelon/plugin.h"

namespace {

void noop(echelon::Orchestrator&, const echelon::TaskArgs&, const echelon::CallConfig&) {}

}  // namespace

ECHELON_PLUGIN();
ECHELON_ORCH_ENTRY(bench_noop, noop)
// A second no-op, registered and unregistered over and over by the callables suite.
ECHELON_ORCH_ENTRY(bench_noop2, noop)
