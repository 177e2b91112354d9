// The demo's orchestration entry for remote L3 sessions: a NATIVE_IMPORT plugin
// ("echelon_demo:demo_node_round") that the daemon finds in its --plugin-dir.
#include "demo_node.h"
#include "echelon/plugin.h"

ECHELON_PLUGIN();
ECHELON_ORCH_ENTRY(demo_node_round, demo::node_round)
