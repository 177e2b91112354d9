// Serves the register-family CONTROLs (protocol.md 9.1, callables.md 6, 7, 10) against the runner's
// registries: PREPARE_REGISTER_CALLABLE stages, COMMIT makes live (installing on the inner Worker
// for INNER_L3_WORKER), ABORT drops a staged entry, UNREGISTER drops both, PREPARE_CALLABLE probes
// the live dispatcher. Refusals change nothing and name the rule, the hashid and the registry.
#pragma once
#include "echelon/worker.h"
#include "session/callable_preparer.h"
#include "session/callable_tables.h"
#include "session/control_answer.h"
#include "session/import_board.h"
#include "session/inner_installer.h"
#include "wire/control.h"

namespace echelon::session {

class RegisterControlHandler {
 public:
  RegisterControlHandler(RunnerRegistries& registries, Worker& inner, const ImportBoard& board, PrepareContext context)
      : registries_(registries), installer_(inner, board), context_(std::move(context)) {}

  // `request.name` must be a register-family control. Never throws for a request-level failure.
  ControlAnswer answer(const wire::ControlRequest& request);

 private:
  ControlAnswer prepare(const wire::RegisterCallableCommand& command);
  ControlAnswer commit(const wire::DigestCallableCommand& command);
  ControlAnswer abort(const wire::DigestCallableCommand& command);
  ControlAnswer unregister(const wire::DigestCallableCommand& command);
  ControlAnswer probe(const wire::DigestCallableCommand& command);

  RunnerRegistries& registries_;
  InnerInstaller installer_;
  PrepareContext context_;
};

}  // namespace echelon::session
