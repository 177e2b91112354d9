// A Worker's registrations and the handles it issued (runtime.md RT-211, callables.md 5).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "echelon/native_callable.h"
#include "runtime/remote_pairs.h"

namespace echelon {

class CallableRegistry {
 public:
  struct Record {
    CallableIdentity identity;
    EntryKind entry_kind = EntryKind::SUB;
    std::string name;
    std::vector<uint32_t> installed_lanes;  // sorted lane indices that confirmed the install
    std::vector<uint64_t> live_handles;

    bool installed_on(uint32_t lane) const;
  };

  // Where one handle runs: remote handles are pinned to the workers they were registered for
  // (callables.md 5); local handles run wherever their record is installed (lanes empty).
  struct HandleScope {
    std::vector<uint32_t> lanes;   // sorted
    std::vector<WorkerId> workers;  // sorted, as the handle reports them
  };
  // A resolved handle: its registration and, for remote handles, its own scope.
  struct Resolved {
    std::shared_ptr<const Record> record;
    std::shared_ptr<const HandleScope> scope;
    bool runs_on(uint32_t lane) const {
      return scope ? std::binary_search(scope->lanes.begin(), scope->lanes.end(), lane) : record->installed_on(lane);
    }
  };
  struct Released {
    std::shared_ptr<const Record> last;  // the record, when this was its last handle
    std::shared_ptr<const HandleScope> scope;
  };

  explicit CallableRegistry(uint64_t owner_token) : owner_token_(owner_token) {}

  uint64_t owner_token() const { return owner_token_; }
  // Per-(worker, hashid) state of remote registrations; submits take slot references here.
  RemotePairTable& pairs() { return pairs_; }
  const RemotePairTable& pairs() const { return pairs_; }

  // The live record of an existing registration of `digest`, or nullptr.
  std::shared_ptr<const Record> find(const Digest& digest) const;
  // Publishes (or re-references) a registration and issues a distinct handle for it.
  // `scope` pins the handle to some workers (remote handles); null for local handles.
  CallableHandle issue(const CallableIdentity& identity, EntryKind kind, const std::string& name,
                       std::vector<uint32_t> installed_lanes, std::shared_ptr<const HandleScope> scope = nullptr);
  // A live handle of the registration of `digest`; throws CallableError when there is none.
  CallableHandle lookup(const Digest& digest) const;
  // Resolves a handle for submit; throws CallableError (CALLABLE_HANDLE_MUTATED for foreign or
  // forged handles, UNREGISTER_TOMBSTONE_ACTIVE after unregister).
  Resolved resolve(const CallableHandle& handle) const;
  // Drops a handle; `last` is set when this was its record's last handle (the caller uninstalls it).
  Released release(const CallableHandle& handle);

 private:
  struct HandleRecord {
    CallableIdentity identity;
    std::shared_ptr<Record> record;
    std::shared_ptr<const HandleScope> scope;
  };

  uint64_t owner_token_;
  RemotePairTable pairs_;
  mutable std::mutex mu_;
  uint64_t next_handle_id_ = 1;
  std::unordered_map<Digest, std::shared_ptr<Record>, DigestHash> records_;
  std::unordered_map<uint64_t, HandleRecord> handles_;
  std::unordered_set<uint64_t> released_;  // handle tombstones, for precise errors
};

}  // namespace echelon
