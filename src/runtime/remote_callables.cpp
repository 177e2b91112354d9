#include "runtime/remote_callables.h"

#include <algorithm>
#include <chrono>

#include "echelon/errors.h"
#include "endpoint/remote_register_controls.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace echelon {

void RemoteCallables::install(RemoteRegistry registry, const RemoteCallable& callable,
                              const std::vector<WorkerId>& workers, bool initialized, const RegisterOptions& options) {
  RemotePairTable& pairs = registry_.pairs();
  const Digest& digest = callable.identity().digest;
  // A pair whose final unregister is merely due must not block this registration.
  if (initialized) flush_locked();
  const std::vector<WorkerId> absent = pairs.absent_after_check(registry, digest, callable.kind(), workers);
  if (!initialized) {
    pending_.push_back(PendingManifest{registry, callable, absent});
    pairs.add_handle_refs(registry, digest, callable.kind(), workers);
    return;
  }
  for (WorkerId w : absent)
    if (port_.failed(w))
      throw CallableError(fmt::format("REGISTER_PARTIAL_FAILURE: {} {}: worker {} is FAILED; nothing was sent",
                                      to_string(registry), callable.hashid(), w));
  if (absent.empty()) {  // every pair installed already: only references are added
    pairs.add_handle_refs(registry, digest, callable.kind(), workers);
    return;
  }
  RegisterTxnConfig config;
  config.registry = registry;
  config.require_identical_plugins = options.require_identical_plugins;
  config.control_timeout_s = options.control_timeout_s.value_or(control_timeout_s_);
  const RegisterTxnResult result = run_register_transaction(
      port_, callable, absent, config, [&] { pairs.add_handle_refs(registry, digest, callable.kind(), workers); });
  if (result.ok) return;
  for (const auto& [w, cause] : result.uncertain)
    pairs.mark_uncertain(RemotePairKey{registry, w, digest}, callable.kind(), cause);
  throw CallableError(result.error);
}

CallableHandle RemoteCallables::register_dispatcher(const RemoteCallable& callable, std::vector<WorkerId> workers,
                                                    bool initialized, const RegisterOptions& options) {
  if (callable.kind() != CallableKind::NATIVE_IMPORT)
    throw CallableError(fmt::format("CALLABLE_KIND_UNSUPPORTED: {} is a {}; the remote dispatcher hosts orchestration "
                                    "entries (NATIVE_IMPORT) only. Chip kernels go to the runners' inner workers "
                                    "(Worker::register_inner)",
                                    callable.hashid(), to_string(callable.kind())));
  std::sort(workers.begin(), workers.end());
  std::lock_guard lock(mu_);
  install(RemoteRegistry::DISPATCHER, callable, workers, initialized, options);
  auto scope = std::make_shared<CallableRegistry::HandleScope>();
  scope->workers = workers;
  for (WorkerId w : workers) scope->lanes.push_back(wiring_.lane_of(w));
  std::sort(scope->lanes.begin(), scope->lanes.end());
  std::vector<uint32_t> lanes = scope->lanes;  // copied first: the scope itself is moved below
  return registry_.issue(callable.identity(), EntryKind::ORCHESTRATION, callable.target(), std::move(lanes),
                         std::move(scope));
}

InnerRegistration RemoteCallables::register_inner(const RemoteCallable& callable, std::vector<WorkerId> workers,
                                                  bool initialized, const RegisterOptions& options) {
  std::sort(workers.begin(), workers.end());
  std::lock_guard lock(mu_);
  install(RemoteRegistry::INNER, callable, workers, initialized, options);
  InnerRegistration r;
  r.owner_token_ = registry_.owner_token();
  r.id_ = next_inner_id_++;
  r.hashid_ = callable.hashid();
  r.workers_ = workers;
  inner_.emplace(r.id_, InnerRecord{callable.kind(), callable.identity().digest, workers});
  return r;
}

void RemoteCallables::release_pairs(RemoteRegistry registry, const Digest& digest, const std::vector<WorkerId>& workers,
                                    bool initialized) {
  RemotePairTable& pairs = registry_.pairs();
  if (!initialized) {
    // Nothing was sent yet: a pair losing its last reference leaves no trace in any manifest.
    const std::vector<WorkerId> gone = pairs.drop_handle_refs_unsent(registry, digest, workers);
    for (PendingManifest& p : pending_)
      if (p.registry == registry && p.callable.identity().digest == digest)
        std::erase_if(p.workers, [&](WorkerId w) { return std::find(gone.begin(), gone.end(), w) != gone.end(); });
    return;
  }
  pairs.drop_handle_refs(registry, digest, workers);
  flush_locked();  // sends the final UNREGISTER now for every pair no task slot holds
}

void RemoteCallables::unregister(const CallableHandle& handle, bool initialized) {
  std::lock_guard lock(mu_);
  const CallableRegistry::Released released = registry_.release(handle);  // throws for a stale or foreign handle
  if (!released.scope) return;
  release_pairs(RemoteRegistry::DISPATCHER, handle.identity().digest, released.scope->workers, initialized);
}

void RemoteCallables::unregister(const InnerRegistration& registration, bool initialized) {
  std::lock_guard lock(mu_);
  if (registration.owner_token_ != registry_.owner_token())
    throw CallableError(fmt::format("CALLABLE_HANDLE_MUTATED: inner registration of {} was not issued by this Worker",
                                    registration.hashid()));
  auto it = inner_.find(registration.id_);
  if (it == inner_.end())
    throw CallableError(fmt::format("UNREGISTER_TOMBSTONE_ACTIVE: inner registration of {} was already unregistered",
                                    registration.hashid()));
  if (to_hashid(it->second.digest) != registration.hashid() || it->second.workers != registration.workers())
    throw CallableError(fmt::format("CALLABLE_HANDLE_MUTATED: inner registration fields ({}) do not match its record",
                                    registration.hashid()));
  const InnerRecord record = it->second;
  inner_.erase(it);
  release_pairs(RemoteRegistry::INNER, record.digest, record.workers, initialized);
}

void RemoteCallables::write_manifests() {
  std::lock_guard lock(mu_);
  for (const PendingManifest& p : pending_)
    for (WorkerId w : p.workers) wiring_.add_manifest_entry(w, p.registry, p.callable);
  pending_.clear();
}

void RemoteCallables::flush_due(bool wait) noexcept {
  std::unique_lock lock(mu_, std::defer_lock);
  if (wait) lock.lock();
  else if (!lock.try_lock()) return;
  flush_locked();
}

void RemoteCallables::flush_locked() noexcept {
  RemotePairTable& pairs = registry_.pairs();
  for (const RemotePairTable::Due& due : pairs.claim_due()) {
    const RemotePairKey& key = due.key;
    try {
      if (port_.failed(key.worker)) {  // gone with the endpoint (callables.md 7)
        pairs.unregister_confirmed(key);
        continue;
      }
      const Deadline deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(control_timeout_s_));
      const ControlReply reply =
          port_.control(key.worker, remote_controls::unregister_callable(key.registry, due.kind, key.digest), deadline);
      if (reply.ok) {
        pairs.unregister_confirmed(key);
        continue;
      }
      pairs.unregister_failed(key, reply.error);
      spdlog::warn("worker {} {} {}: UNREGISTER_CALLABLE failed{}; the pair stays tombstoned for this session: {}",
                   key.worker, to_string(key.registry), to_hashid(key.digest), reply.uncertain ? " (unanswered)" : "",
                   reply.error);
    } catch (const std::exception& e) {
      pairs.unregister_failed(key, e.what());
      spdlog::warn("worker {} {} {}: UNREGISTER_CALLABLE could not be sent; the pair stays tombstoned: {}", key.worker,
                   to_string(key.registry), to_hashid(key.digest), e.what());
    }
  }
}

CallableState RemoteCallables::state(RemoteRegistry registry, WorkerId worker, const Digest& digest) const {
  CallableState s = registry_.pairs().state(RemotePairKey{registry, worker, digest});
  // A failed endpoint takes its pairs with it (callables.md 7); an uncertain pair stays visible
  // for diagnostics.
  if (s.state != PairState::ABSENT && s.state != PairState::CLEANUP_UNCERTAIN && port_.failed(worker))
    return CallableState{PairState::ABSENT, 0, 0, fmt::format("worker {} is FAILED; its pairs ended with its session", worker)};
  return s;
}

}  // namespace echelon
