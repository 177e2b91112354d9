#include "session/task_dispatcher.h"

#include <fmt/format.h>

#include "session/task_args_materialiser.h"
#include "session/runner_error_text.h"
#include "session/startup_failure.h"

namespace echelon::session {

namespace {

[[noreturn]] void registry_error(const remote::ManifestEntry& entry, size_t index, const std::string& reason) {
  throw StartupFailure(remote::ReplyErrorType::RegistryError,
                       fmt::format("manifest.remote_task_dispatcher[{}] ({}): {}", index, entry.hashid(), reason));
}

}  // namespace

TaskDispatcher::Installed TaskDispatcher::resolve(const remote::ManifestEntry& entry,
                                                  const std::vector<std::string>& plugin_dirs) const {
  const auto target = NativeImportTarget::parse(entry.target);
  // The manifest parser checked this already; the registry is what TASKs trust, so check here too.
  if (sha256(native_import_descriptor(target)) != entry.digest)
    throw CallableError(fmt::format("hashid does not match the descriptor of '{}'", entry.target));
  Installed installed;
  installed.plugin = resolve_plugin(target, plugin_dirs, EntryKind::ORCHESTRATION);
  installed.entry = make_plugin_entry(entry.digest, entry.target, installed.plugin);
  return installed;
}

void TaskDispatcher::install(const std::vector<remote::ManifestEntry>& entries,
                             const std::vector<std::string>& plugin_dirs) {
  std::unordered_map<Digest, Installed, DigestHash> staged;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    if (entry.kind != CallableKind::NATIVE_IMPORT)
      registry_error(entry, i, fmt::format("kind {} is not supported by this runner", to_string(entry.kind)));
    try {
      staged.emplace(entry.digest, resolve(entry, plugin_dirs));
    } catch (const std::exception& e) {
      registry_error(entry, i, e.what());
    }
  }
  entries_ = std::move(staged);  // only a complete set becomes visible
}

wire::CompletionPayload TaskDispatcher::failure(uint64_t sequence, wire::WireStatus status, const Digest& digest,
                                                std::string_view text) const {
  return wire::make_completion(sequence, status,
                               task_error_text(identity_.host, identity_.worker_id, digest, sequence, text));
}

wire::CompletionPayload TaskDispatcher::run(uint64_t sequence, const wire::TaskPayload& task, Worker& inner,
                                            BufferRegistry& buffers) const {
  const Digest& digest = task.callable_digest;
  const auto it = entries_.find(digest);
  if (it == entries_.end())
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
    inner.run(it->second.entry.orch, materialised.args, task.config);
  } catch (const std::exception& e) {
    return failure(sequence, wire::WireStatus::FAILED, digest, e.what());
  } catch (...) {
    return failure(sequence, wire::WireStatus::FAILED, digest, "unknown exception");
  }
  return wire::make_completion(sequence, wire::WireStatus::OK, "");
}

}  // namespace echelon::session
