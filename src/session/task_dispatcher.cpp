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
  try {
    inner.run(live->entry.orch, materialised.args, task.config);
  } catch (const std::exception& e) {
    return failure(sequence, wire::WireStatus::FAILED, digest, e.what());
  } catch (...) {
    return failure(sequence, wire::WireStatus::FAILED, digest, "unknown exception");
  }
  return wire::make_completion(sequence, wire::WireStatus::OK, "");
}

}  // namespace echelon::session
