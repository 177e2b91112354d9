#include "session/task_dispatcher.h"

#include <fmt/format.h>

#include "session/task_args_materialiser.h"
#include "session/runner_error_text.h"

namespace echelon::session {

wire::CompletionPayload TaskDispatcher::failure(uint64_t sequence, wire::WireStatus status, const Digest& digest,
                                                std::string_view text) const {
  return wire::make_completion(sequence, status,
                               task_error_text(identity_.host, identity_.worker_id, digest, sequence, text));
}

wire::CompletionPayload TaskDispatcher::run(uint64_t sequence, const wire::TaskPayload& task, Worker& inner,
                                            BufferRegistry& buffers) const {
  const Digest& digest = task.callable_digest;
  const RegistryEntry* live = table_.live(digest);
  if (!live)
    return failure(sequence, wire::WireStatus::NOT_FOUND, digest,
                   fmt::format("callable {} is not in this session's dispatcher registry", to_hashid(digest)));
  MaterialisedArgs materialised;
  try {
    materialised = materialise_args(task.args, buffers);
  } catch (const ArgumentRefused& e) {
    return failure(sequence, e.status(), digest, e.what());
  } catch (const std::exception& e) {
    return failure(sequence, wire::WireStatus::FAILED, digest, fmt::format("materialising arguments: {}", e.what()));
  }
  std::string run_error;
  try {
    inner.run(live->entry.orch, materialised.args, task.config);
  } catch (const std::exception& e) {
    run_error = e.what();
    if (run_error.empty()) run_error = "task failed";
  } catch (...) {
    run_error = "unknown exception";
  }
  // RMA imports (ucx, buffers.md 9.3): the task's writes reach the owner before its COMPLETION,
  // as a mapped import's would have - a failed task's partial writes included.
  try {
    write_back(materialised, buffers);
  } catch (const std::exception& e) {
    return failure(sequence, wire::WireStatus::FAILED, digest,
                   run_error.empty() ? std::string(e.what()) : fmt::format("{}; then {}", run_error, e.what()));
  }
  if (!run_error.empty()) return failure(sequence, wire::WireStatus::FAILED, digest, run_error);
  return wire::make_completion(sequence, wire::WireStatus::OK, "");
}

}  // namespace echelon::session
