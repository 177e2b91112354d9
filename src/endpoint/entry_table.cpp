#include "endpoint/entry_table.h"

#include "fmt/format.h"

namespace echelon {

ControlReply EntryTable::handle(const std::string& name, std::span<const uint8_t> payload) {
  ControlReply r;
  if (name == "echo") {
    r.ok = true;
    r.payload.assign(payload.begin(), payload.end());
    return r;
  }
  if (name != "register" && name != "unregister") {
    r.error = fmt::format("unknown control '{}'", name);
    return r;
  }
  if (payload.size() != CALLABLE_HASH_DIGEST_SIZE) {
    r.error = fmt::format("{}: payload must be a 32-byte digest, got {} bytes", name, payload.size());
    return r;
  }
  Digest d;
  std::memcpy(d.data(), payload.data(), d.size());
  if (name == "unregister") {
    installed_.erase(d);
    r.ok = true;
    return r;
  }
  const LocalEntry* e = nullptr;
  try {
    e = find_or_load_local_entry(d);  // a runner's SUB child loads a post-init plugin entry here
  } catch (const std::exception& ex) {
    r.error = fmt::format("REJECTED: {} could not be loaded in this child: {}", to_hashid(d), ex.what());
    return r;
  }
  if (!e) {
    r.error = fmt::format("NOT_FOUND: {} is not in this process's callable table (callables created after a child "
                          "was forked must come from the static task table, ECHELON_TASK)", to_hashid(d));
    return r;
  }
  if (e->entry_kind != accepts_) {
    r.error = fmt::format("REJECTED: {} ('{}') is a {} entry; this child runs {} entries", to_hashid(d), e->name,
                          to_string(e->entry_kind), to_string(accepts_));
    return r;
  }
  installed_[d] = e;
  r.ok = true;
  return r;
}

}  // namespace echelon
