#include "runtime/callable_registry.h"

#include <algorithm>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

bool CallableRegistry::Record::installed_on(uint32_t lane) const {
  return std::binary_search(installed_lanes.begin(), installed_lanes.end(), lane);
}

std::shared_ptr<const CallableRegistry::Record> CallableRegistry::find(const Digest& digest) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(digest);
  return it == records_.end() ? nullptr : it->second;
}

CallableHandle CallableRegistry::issue(const CallableIdentity& identity, EntryKind kind, const std::string& name,
                                       std::vector<uint32_t> installed_lanes,
                                       std::shared_ptr<const HandleScope> scope) {
  std::lock_guard lock(mu_);
  auto& rec = records_[identity.digest];
  if (!rec) {
    rec = std::make_shared<Record>();
    rec->identity = identity;
    rec->entry_kind = kind;
    rec->name = name;
    std::sort(installed_lanes.begin(), installed_lanes.end());
    rec->installed_lanes = std::move(installed_lanes);
  }
  CallableHandle h;
  h.owner_token_ = owner_token_;
  h.handle_id_ = next_handle_id_++;
  h.identity_ = identity;
  if (scope) h.workers_ = scope->workers;
  rec->live_handles.push_back(h.handle_id_);
  handles_.emplace(h.handle_id_, HandleRecord{identity, rec, std::move(scope)});
  return h;
}

CallableHandle CallableRegistry::lookup(const Digest& digest) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(digest);
  if (it == records_.end())
    throw CallableError(fmt::format("NOT_FOUND: {} is not registered on this Worker", to_hashid(digest)));
  CallableHandle h;
  h.owner_token_ = owner_token_;
  h.handle_id_ = it->second->live_handles.front();
  h.identity_ = it->second->identity;
  // A remote handle is pinned to its workers: the looked-up handle carries the same list.
  if (const auto& scope = handles_.at(h.handle_id_).scope) h.workers_ = scope->workers;
  return h;
}

CallableRegistry::Resolved CallableRegistry::resolve(const CallableHandle& handle) const {
  if (handle.owner_token_ != owner_token_)
    throw CallableError(fmt::format("CALLABLE_HANDLE_MUTATED: handle for {} was not issued by this Worker",
                                    handle.hashid()));
  std::lock_guard lock(mu_);
  auto it = handles_.find(handle.handle_id_);
  if (it == handles_.end()) {
    if (released_.count(handle.handle_id_))
      throw CallableError(fmt::format("UNREGISTER_TOMBSTONE_ACTIVE: handle for {} was unregistered", handle.hashid()));
    throw CallableError(fmt::format("CALLABLE_HANDLE_MUTATED: handle for {} matches no registration of this Worker",
                                    handle.hashid()));
  }
  if (!(it->second.identity == handle.identity_))
    throw CallableError(fmt::format("CALLABLE_HANDLE_MUTATED: handle fields ({} {} {}) do not match its registration {}",
                                    handle.hashid(), to_string(handle.kind()), to_string(handle.target_namespace()),
                                    it->second.identity.hashid()));
  const std::vector<WorkerId> none;
  if (handle.workers_ != (it->second.scope ? it->second.scope->workers : none))
    throw CallableError(fmt::format("CALLABLE_HANDLE_MUTATED: handle for {} lists workers its registration does not",
                                    handle.hashid()));
  return Resolved{it->second.record, it->second.scope};
}

CallableRegistry::Released CallableRegistry::release(const CallableHandle& handle) {
  (void)resolve(handle);
  std::lock_guard lock(mu_);
  auto it = handles_.find(handle.handle_id_);
  if (it == handles_.end())
    throw CallableError(fmt::format("UNREGISTER_TOMBSTONE_ACTIVE: handle for {} was unregistered", handle.hashid()));
  auto owned = it->second.record;
  Released out{nullptr, it->second.scope};
  handles_.erase(it);
  released_.insert(handle.handle_id_);
  std::erase(owned->live_handles, handle.handle_id_);
  if (!owned->live_handles.empty()) return out;
  records_.erase(owned->identity.digest);
  out.last = owned;
  return out;
}

}  // namespace echelon
