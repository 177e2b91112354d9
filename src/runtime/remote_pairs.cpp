#include "runtime/remote_pairs.h"

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

CallableState RemotePairTable::state(const RemotePairKey& key) const {
  std::lock_guard lock(mu_);
  auto it = pairs_.find(key);
  if (it == pairs_.end()) return CallableState{};
  const Pair& p = *it->second;
  return CallableState{p.state, p.handle_refs, p.slot_refs, p.cause};
}

std::vector<WorkerId> RemotePairTable::absent_after_check(RemoteRegistry registry, const Digest& digest,
                                                          CallableKind kind, const std::vector<WorkerId>& workers) const {
  std::lock_guard lock(mu_);
  std::vector<WorkerId> absent;
  for (WorkerId w : workers) {
    auto it = pairs_.find(RemotePairKey{registry, w, digest});
    if (it == pairs_.end()) {
      absent.push_back(w);
      continue;
    }
    const Pair& p = *it->second;
    if (p.state == PairState::TOMBSTONED)
      throw CallableError(fmt::format("REGISTER_TOMBSTONE_ACTIVE: worker {} {} {}: the pair was unregistered and its "
                                      "UNREGISTER_CALLABLE is {}; it cannot be registered again until that is confirmed",
                                      w, to_string(registry), to_hashid(digest),
                                      p.cause.empty() ? "not confirmed yet" : "failed (" + p.cause + ")"));
    if (p.state == PairState::CLEANUP_UNCERTAIN)
      throw CallableError(fmt::format("REGISTER_CLEANUP_UNCERTAIN: worker {} {} {}: an earlier rollback was not "
                                      "confirmed ({}); the pair is unusable until that worker's session is renewed",
                                      w, to_string(registry), to_hashid(digest), p.cause));
    if (p.kind != kind)
      throw CallableError(fmt::format("HASHID_DESCRIPTOR_MISMATCH: worker {} {} {} is installed as {}, not {}", w,
                                      to_string(registry), to_hashid(digest), to_string(p.kind), to_string(kind)));
  }
  return absent;
}

RemotePairTable::Pair& RemotePairTable::pair_at(const RemotePairKey& key, CallableKind kind) {
  auto& slot = pairs_[key];
  if (!slot) {
    slot = std::make_shared<Pair>();
    slot->key = key;
    slot->kind = kind;
  }
  return *slot;
}

void RemotePairTable::add_handle_refs(RemoteRegistry registry, const Digest& digest, CallableKind kind,
                                      const std::vector<WorkerId>& workers) {
  std::lock_guard lock(mu_);
  for (WorkerId w : workers) {
    Pair& p = pair_at(RemotePairKey{registry, w, digest}, kind);
    p.state = PairState::INSTALLED;
    ++p.handle_refs;
  }
}

void RemotePairTable::mark_uncertain(const RemotePairKey& key, CallableKind kind, std::string cause) {
  std::lock_guard lock(mu_);
  Pair& p = pair_at(key, kind);
  p.state = PairState::CLEANUP_UNCERTAIN;
  p.cause = std::move(cause);
}

void RemotePairTable::drop_handle_refs(RemoteRegistry registry, const Digest& digest, const std::vector<WorkerId>& workers) {
  std::lock_guard lock(mu_);
  for (WorkerId w : workers) {
    auto it = pairs_.find(RemotePairKey{registry, w, digest});
    if (it == pairs_.end() || it->second->state != PairState::INSTALLED || it->second->handle_refs == 0) continue;
    if (--it->second->handle_refs == 0) it->second->state = PairState::TOMBSTONED;
  }
}

std::vector<WorkerId> RemotePairTable::drop_handle_refs_unsent(RemoteRegistry registry, const Digest& digest,
                                                              const std::vector<WorkerId>& workers) {
  std::lock_guard lock(mu_);
  std::vector<WorkerId> gone;
  for (WorkerId w : workers) {
    auto it = pairs_.find(RemotePairKey{registry, w, digest});
    if (it == pairs_.end() || it->second->handle_refs == 0) continue;
    if (--it->second->handle_refs == 0) {
      pairs_.erase(it);
      gone.push_back(w);
    }
  }
  return gone;
}

std::shared_ptr<RemotePairTable::Pair> RemotePairTable::capture_slot(const RemotePairKey& key, std::string& why) {
  std::lock_guard lock(mu_);
  auto it = pairs_.find(key);
  if (it == pairs_.end()) {
    why = fmt::format("callable {} is not installed on worker {}", to_hashid(key.digest), key.worker);
    return nullptr;
  }
  Pair& p = *it->second;
  switch (p.state) {
    case PairState::INSTALLED: ++p.slot_refs; return it->second;
    case PairState::TOMBSTONED:
      why = fmt::format("REGISTER_TOMBSTONE_ACTIVE: worker {} {} was unregistered", key.worker, to_hashid(key.digest));
      return nullptr;
    case PairState::CLEANUP_UNCERTAIN:
      why = fmt::format("REGISTER_CLEANUP_UNCERTAIN: worker {} {}: {}", key.worker, to_hashid(key.digest), p.cause);
      return nullptr;
    case PairState::ABSENT: break;
  }
  why = fmt::format("callable {} is not installed on worker {}", to_hashid(key.digest), key.worker);
  return nullptr;
}

void RemotePairTable::release_slot(Pair& pair) noexcept {
  std::lock_guard lock(mu_);
  if (pair.slot_refs > 0) --pair.slot_refs;
}

std::vector<RemotePairTable::Due> RemotePairTable::claim_due() {
  std::lock_guard lock(mu_);
  std::vector<Due> due;
  for (auto& [key, p] : pairs_) {
    if (p->state != PairState::TOMBSTONED || p->slot_refs != 0 || p->unregister_claimed) continue;
    p->unregister_claimed = true;
    due.push_back(Due{key, p->kind});
  }
  return due;
}

void RemotePairTable::unregister_confirmed(const RemotePairKey& key) {
  std::lock_guard lock(mu_);
  auto it = pairs_.find(key);
  if (it != pairs_.end() && it->second->state == PairState::TOMBSTONED) pairs_.erase(it);
}

void RemotePairTable::unregister_failed(const RemotePairKey& key, std::string cause) {
  std::lock_guard lock(mu_);
  auto it = pairs_.find(key);
  if (it != pairs_.end()) it->second->cause = std::move(cause);  // stays TOMBSTONED and claimed: never retried
}

size_t RemotePairTable::size() const {
  std::lock_guard lock(mu_);
  return pairs_.size();
}

}  // namespace echelon
