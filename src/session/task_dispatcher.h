// The runner's TASK adapter over its REMOTE_TASK_DISPATCHER registry (protocol.md 6, callables.md
// 3): a TASK's digest is resolved in the live dispatcher table only (manifest entries are installed
// live, PREPARE_REGISTER_CALLABLE entries become live on commit), its arguments rebuilt locally, the
// entry run with inner.run(fn, args, config), and the outcome wrapped in one COMPLETION. It is an
// entry adapter, not a scheduler: the inner Worker does all the scheduling.
#pragma once
#include <string>
#include "echelon/worker.h"
#include "session/buffer_registry.h"
#include "session/callable_tables.h"
#include "wire/completion.h"
#include "wire/task_payload.h"

namespace echelon::session {

// Who this runner is, for the error prefix of every COMPLETION.
struct RunnerIdentity {
  std::string host;
  int32_t worker_id = 0;
};

class TaskDispatcher {
 public:
  TaskDispatcher(RunnerIdentity identity, const CallableTable& dispatcher_table)
      : identity_(std::move(identity)), table_(dispatcher_table) {}

  // Runs one decoded TASK to its COMPLETION, its remote arguments resolved in `buffers`. Never
  // throws for a task-level failure: digest not live in the dispatcher (NOT_FOUND), an argument
  // refused by the runner rules of protocol.md 6.4 (its REJECTED / NOT_FOUND / STALE /
  // UNSUPPORTED), a failed run (FAILED).
  wire::CompletionPayload run(uint64_t sequence, const wire::TaskPayload& task, Worker& inner,
                              BufferRegistry& buffers) const;

 private:
  wire::CompletionPayload failure(uint64_t sequence, wire::WireStatus status, const Digest& digest,
                                  std::string_view text) const;

  RunnerIdentity identity_;
  const CallableTable& table_;
};

}  // namespace echelon::session
