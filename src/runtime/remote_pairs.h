// The parent's state of every (registry, worker, hashid) pair of remote callables (callables.md 5
// and 7): INSTALLED with handle and slot references, TOMBSTONED while its final
// UNREGISTER_CALLABLE is owed (or after it failed), CLEANUP_UNCERTAIN after an unconfirmed
// rollback. ABSENT pairs are simply not in the table.
//
// Thread-safety: submits capture slot references and the retire path drops them under the engine
// lock, while registrations, unregistrations and flushes run on user threads; one mutex guards the
// table and is never held while a control is sent.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "echelon/remote_callable.h"

namespace echelon {

struct RemotePairKey {
  RemoteRegistry registry = RemoteRegistry::DISPATCHER;
  WorkerId worker = kNoWorker;
  Digest digest{};
  friend auto operator<=>(const RemotePairKey& a, const RemotePairKey& b) {
    return std::tie(a.registry, a.worker, a.digest) <=> std::tie(b.registry, b.worker, b.digest);
  }
  friend bool operator==(const RemotePairKey&, const RemotePairKey&) = default;
};

class RemotePairTable {
 public:
  struct Pair {
    RemotePairKey key;
    CallableKind kind = CallableKind::NATIVE_IMPORT;
    PairState state = PairState::INSTALLED;
    uint32_t handle_refs = 0;
    uint32_t slot_refs = 0;
    bool unregister_claimed = false;  // the final UNREGISTER_CALLABLE was taken by a flush
    std::string cause;
  };
  // A final UNREGISTER_CALLABLE that may be sent now.
  struct Due {
    RemotePairKey key;
    CallableKind kind;
  };

  CallableState state(const RemotePairKey& key) const;

  // Registration pre-check (callables.md 5): throws CallableError REGISTER_TOMBSTONE_ACTIVE or
  // REGISTER_CLEANUP_UNCERTAIN naming the first blocked worker. Returns the workers whose pair is
  // absent (those take part in the two-phase transaction).
  std::vector<WorkerId> absent_after_check(RemoteRegistry registry, const Digest& digest, CallableKind kind,
                                           const std::vector<WorkerId>& workers) const;
  // One more handle reference on each pair (absent pairs become INSTALLED).
  void add_handle_refs(RemoteRegistry registry, const Digest& digest, CallableKind kind,
                       const std::vector<WorkerId>& workers);
  void mark_uncertain(const RemotePairKey& key, CallableKind kind, std::string cause);
  // Drops one handle reference from each pair; a pair losing its last one becomes TOMBSTONED.
  void drop_handle_refs(RemoteRegistry registry, const Digest& digest, const std::vector<WorkerId>& workers);
  // Before init nothing was sent: a pair losing its last reference simply disappears. Returns the
  // workers whose pair disappeared.
  std::vector<WorkerId> drop_handle_refs_unsent(RemoteRegistry registry, const Digest& digest,
                                                const std::vector<WorkerId>& workers);

  // Submit (dispatcher pairs): one slot reference if the pair is INSTALLED, else the reason.
  std::shared_ptr<Pair> capture_slot(const RemotePairKey& key, std::string& why);
  void release_slot(Pair& pair) noexcept;

  // Tombstoned pairs with no slot references whose UNREGISTER_CALLABLE nobody sent yet; each is
  // claimed, so concurrent flushes send it once.
  std::vector<Due> claim_due();
  // The UNREGISTER reply: OK removes the pair (it may be registered again); a failure keeps the
  // tombstone for the rest of the session, with the cause.
  void unregister_confirmed(const RemotePairKey& key);
  void unregister_failed(const RemotePairKey& key, std::string cause);

  // Pairs still in the table (diagnostics, tests).
  size_t size() const;

 private:
  Pair& pair_at(const RemotePairKey& key, CallableKind kind);  // creates it; mu_ held

  mutable std::mutex mu_;
  std::map<RemotePairKey, std::shared_ptr<Pair>> pairs_;
};

namespace detail {

// The dispatcher pairs one task slot holds (one per remote member), dropped exactly once when the
// slot is consumed or a refused submit unwinds.
class PairSlotRefs {
 public:
  PairSlotRefs() = default;
  PairSlotRefs(const PairSlotRefs&) = delete;
  PairSlotRefs& operator=(const PairSlotRefs&) = delete;
  PairSlotRefs(PairSlotRefs&& o) noexcept : table_(o.table_), held_(std::move(o.held_)) { o.held_.clear(); }
  PairSlotRefs& operator=(PairSlotRefs&& o) noexcept {
    if (this != &o) {
      release_all();
      table_ = o.table_;
      held_ = std::move(o.held_);
      o.held_.clear();
    }
    return *this;
  }
  ~PairSlotRefs() { release_all(); }

  void hold(RemotePairTable& table, std::shared_ptr<RemotePairTable::Pair> pair) {
    table_ = &table;
    held_.push_back(std::move(pair));
  }
  void release_all() noexcept {
    for (auto& p : held_) table_->release_slot(*p);
    held_.clear();
  }
  bool empty() const { return held_.empty(); }

 private:
  RemotePairTable* table_ = nullptr;
  std::vector<std::shared_ptr<RemotePairTable::Pair>> held_;
};

}  // namespace detail
}  // namespace echelon
