// PREPARE_REGISTER_CALLABLE's checks on one command (callables.md 4, 6 step 2, 10 rows 2-11),
// shared by the control handler and the bootstrap manifest so both give the same verdict
// (CALL-23): the target/kind matrix, negotiated kinds, import text, descriptor recomputation,
// plugin resolution and load (orchestration entries for the dispatcher, sub entries for the inner
// worker), and the chip payload checks. What it loads is returned as the staged entry.
#pragma once
#include <string>
#include <vector>
#include "session/callable_tables.h"
#include "wire/register_controls.h"

namespace echelon::session {

// What this runner offers registrations.
struct PrepareContext {
  std::vector<std::string> plugin_dirs;
  uint32_t num_chips = 0;        // inner chips: a CHIP_CALLABLE needs one
  uint32_t num_sub_workers = 0;  // inner SUB workers: an inner NATIVE_IMPORT needs one
};

// Throws RegisterRefusal naming the rule; nothing is kept on refusal.
RegistryEntry prepare_callable(const wire::RegisterCallableCommand& command, const PrepareContext& context);

}  // namespace echelon::session
