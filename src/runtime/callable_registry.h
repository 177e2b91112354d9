// A Worker's registrations and the handles it issued (runtime.md RT-211, callables.md 5).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "echelon/native_callable.h"

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

  explicit CallableRegistry(uint64_t owner_token) : owner_token_(owner_token) {}

  // The live record of an existing registration of `digest`, or nullptr.
  std::shared_ptr<const Record> find(const Digest& digest) const;
  // Publishes (or re-references) a registration and issues a distinct handle for it.
  CallableHandle issue(const CallableIdentity& identity, EntryKind kind, const std::string& name,
                       std::vector<uint32_t> installed_lanes);
  // A live handle of the registration of `digest`; throws CallableError when there is none.
  CallableHandle lookup(const Digest& digest) const;
  // Resolves a handle for submit; throws CallableError (CALLABLE_HANDLE_MUTATED for foreign or
  // forged handles, UNREGISTER_TOMBSTONE_ACTIVE after unregister).
  std::shared_ptr<const Record> resolve(const CallableHandle& handle) const;
  // Drops a handle; returns the record when this was its last handle (the caller uninstalls it).
  std::shared_ptr<const Record> release(const CallableHandle& handle);

 private:
  struct HandleRecord {
    CallableIdentity identity;
    std::shared_ptr<Record> record;
  };

  uint64_t owner_token_;
  mutable std::mutex mu_;
  uint64_t next_handle_id_ = 1;
  std::unordered_map<Digest, std::shared_ptr<Record>, DigestHash> records_;
  std::unordered_map<uint64_t, HandleRecord> handles_;
  std::unordered_set<uint64_t> released_;  // handle tombstones, for precise errors
};

}  // namespace echelon
