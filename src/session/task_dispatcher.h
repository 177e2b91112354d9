// The runner's REMOTE_TASK_DISPATCHER registry and its TASK adapter (protocol.md 6, callables.md 3):
// digest -> orchestration entry; a TASK is resolved, its arguments rebuilt locally, the entry run
// with inner.run(fn, args, config), and the outcome wrapped in one COMPLETION. It is an entry
// adapter, not a scheduler: the inner Worker does all the scheduling.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>
#include "echelon/worker.h"
#include "remote/manifest.h"
#include "runtime/plugin_resolver.h"
#include "session/buffer_registry.h"
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
  explicit TaskDispatcher(RunnerIdentity identity) : identity_(std::move(identity)) {}

  // Installs the manifest's dispatcher entries (callables.md 8). NATIVE_IMPORT targets are
  // resolved in `plugin_dirs` and must be orchestration entries. All or nothing: on the first bad
  // entry nothing stays installed and StartupFailure(RegistryError) names the entry.
  void install(const std::vector<remote::ManifestEntry>& entries, const std::vector<std::string>& plugin_dirs);

  size_t size() const { return entries_.size(); }

  // Runs one decoded TASK to its COMPLETION, its remote arguments resolved in `buffers`. Never
  // throws for a task-level failure: unknown digest (NOT_FOUND), an argument refused by the
  // runner rules of protocol.md 6.4 (its REJECTED / NOT_FOUND / STALE / UNSUPPORTED), a failed
  // run (FAILED).
  wire::CompletionPayload run(uint64_t sequence, const wire::TaskPayload& task, Worker& inner,
                              BufferRegistry& buffers) const;

 private:
  struct Installed {
    ResolvedPlugin plugin;  // keeps the library loaded
    LocalEntry entry;
  };
  Installed resolve(const remote::ManifestEntry& entry, const std::vector<std::string>& plugin_dirs) const;
  wire::CompletionPayload failure(uint64_t sequence, wire::WireStatus status, const Digest& digest,
                                  std::string_view text) const;

  RunnerIdentity identity_;
  std::unordered_map<Digest, Installed, DigestHash> entries_;
};

}  // namespace echelon::session
