// The two-phase registration of one callable on several remote workers (callables.md 6):
// PREPARE to every worker, COMMIT to all only if all prepared, then publish; on any failure the
// prepared are aborted, the committed unregistered, and every pair whose state cannot be proven
// clean is reported CLEANUP_UNCERTAIN. Works against a ControlPort, so the partial-failure table
// is tested with a scripted port and runs unchanged against real endpoints.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "echelon/endpoint.h"
#include "echelon/remote_callable.h"

namespace echelon {

// How the transaction reaches remote workers: the Worker's engine in production, a script in tests.
class ControlPort {
 public:
  virtual ~ControlPort() = default;
  // Sends `request` on `worker`'s command lane (ordered with its TASKs) and waits until `deadline`.
  // A reply that is sent but unanswered comes back `uncertain`, and the endpoint is then FAILED.
  virtual ControlReply control(WorkerId worker, const ControlRequest& request, Deadline deadline) = 0;
  // True once the worker's endpoint is FAILED: nothing more is sent to it this session.
  virtual bool failed(WorkerId worker) const = 0;
};

struct RegisterTxnResult {
  bool ok = false;
  // Pairs whose cleanup could not be confirmed (callables.md 6 rows 2, 4, 5, 7), with the cause.
  std::vector<std::pair<WorkerId, std::string>> uncertain;
  // REGISTER_PARTIAL_FAILURE (or HASHID_DESCRIPTOR_MISMATCH) text naming every failing worker.
  std::string error;
};

struct RegisterTxnConfig {
  RemoteRegistry registry = RemoteRegistry::DISPATCHER;
  bool require_identical_plugins = false;
  double control_timeout_s = 30;  // each control's reply deadline
};

// Registers `callable` on `workers` (all of them absent pairs). `publish` runs after every commit
// succeeded; if it throws, the committed workers are unregistered again (row 6).
RegisterTxnResult run_register_transaction(ControlPort& port, const RemoteCallable& callable,
                                           const std::vector<WorkerId>& workers, const RegisterTxnConfig& config,
                                           const std::function<void()>& publish);

}  // namespace echelon
