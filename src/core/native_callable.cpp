// The process-wide table of in-process callables (NATIVE_INPROC, callables.md 2.7). Children
// forked later inherit it, which is what lets them resolve a digest to a function.
#include "echelon/native_callable.h"

#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {
namespace {

struct LocalCallableTable {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<LocalEntry>> by_name;  // entries never move or die
  std::map<Digest, const LocalEntry*> by_digest;
  // Imported (plugin) entries: the published one per digest, and every one ever published, which
  // never dies (addresses handed out stay valid after a withdraw).
  std::map<Digest, const LocalEntry*> imported;
  std::vector<std::unique_ptr<LocalEntry>> imported_store;
  LocalEntryLoader loader;

  static LocalCallableTable& get() {
    static LocalCallableTable* table = new LocalCallableTable;  // never destroyed: entries outlive statics
    return *table;
  }
};

template <typename Fn>
bool same_function(const Fn& a, const Fn& b) {
  if (a.target_type() != b.target_type()) return false;
  using Ptr = typename std::conditional_t<std::is_same_v<Fn, OrchFn>,
                                          void (*)(Orchestrator&, const TaskArgs&, const CallConfig&),
                                          void (*)(const SubCall&)>;
  const Ptr* pa = a.template target<Ptr>();
  const Ptr* pb = b.template target<Ptr>();
  // Two closures cannot be compared (their captures may differ): only the same plain function
  // counts as "the same function".
  return pa && pb && *pa == *pb;
}

const LocalEntry* publish(const std::string& name, EntryKind kind, OrchFn orch, SubFn sub) {
  validate_inproc_name(name);
  auto& t = LocalCallableTable::get();
  std::lock_guard lock(t.mu);
  auto it = t.by_name.find(name);
  if (it != t.by_name.end()) {
    const LocalEntry& e = *it->second;
    const bool same = e.entry_kind == kind &&
                      (kind == EntryKind::ORCHESTRATION ? same_function(e.orch, orch) : same_function(e.sub, sub));
    if (!same)
      throw CallableError(fmt::format("HASHID_DESCRIPTOR_MISMATCH: in-process callable '{}' ({}) is already bound to "
                                      "a different function in this process", name, to_hashid(e.digest)));
    return &e;
  }
  auto entry = std::make_unique<LocalEntry>();
  entry->digest = sha256(native_inproc_descriptor(name));
  entry->name = name;
  entry->entry_kind = kind;
  entry->orch = std::move(orch);
  entry->sub = std::move(sub);
  const LocalEntry* raw = entry.get();
  t.by_digest[raw->digest] = raw;
  t.by_name.emplace(name, std::move(entry));
  return raw;
}

}  // namespace

const char* to_string(EntryKind k) {
  switch (k) {
    case EntryKind::ORCHESTRATION: return "orchestration";
    case EntryKind::SUB: return "sub";
    case EntryKind::CHIP_KERNEL: return "chip kernel";
  }
  return "invalid";
}

NativeCallable NativeCallable::inproc(const std::string& name, OrchFn fn) {
  if (!fn) throw ValidationError(fmt::format("NativeCallable::inproc('{}'): empty function", name));
  NativeCallable c;
  c.entry_ = publish(name, EntryKind::ORCHESTRATION, std::move(fn), nullptr);
  c.identity_ = CallableIdentity{c.entry_->digest, CallableKind::NATIVE_INPROC, TargetNamespace::LOCAL_NATIVE};
  return c;
}

NativeCallable NativeCallable::inproc(const std::string& name, SubFn fn) {
  if (!fn) throw ValidationError(fmt::format("NativeCallable::inproc('{}'): empty function", name));
  NativeCallable c;
  c.entry_ = publish(name, EntryKind::SUB, nullptr, std::move(fn));
  c.identity_ = CallableIdentity{c.entry_->digest, CallableKind::NATIVE_INPROC, TargetNamespace::LOCAL_NATIVE};
  return c;
}

NativeCallable NativeCallable::imported(LocalEntry entry) {
  if (entry.entry_kind == EntryKind::ORCHESTRATION ? !entry.orch : !entry.sub)
    throw ValidationError(fmt::format("NativeCallable::imported('{}'): empty function", entry.name));
  if (entry.entry_kind == EntryKind::CHIP_KERNEL)
    throw ValidationError(fmt::format("NativeCallable::imported('{}'): a chip kernel is not a native entry", entry.name));
  auto& t = LocalCallableTable::get();
  NativeCallable c;
  {
    std::lock_guard lock(t.mu);
    auto it = t.imported.find(entry.digest);
    if (it != t.imported.end()) {
      c.entry_ = it->second;
    } else {
      if (t.by_digest.contains(entry.digest))
        throw CallableError(fmt::format("HASHID_DESCRIPTOR_MISMATCH: {} ('{}') is already an in-process callable",
                                        to_hashid(entry.digest), entry.name));
      t.imported_store.push_back(std::make_unique<LocalEntry>(std::move(entry)));
      c.entry_ = t.imported_store.back().get();
      t.imported[c.entry_->digest] = c.entry_;
      t.by_digest[c.entry_->digest] = c.entry_;
    }
  }
  c.identity_ = CallableIdentity{c.entry_->digest, CallableKind::NATIVE_IMPORT, TargetNamespace::LOCAL_NATIVE};
  return c;
}

void withdraw_imported_entry(const Digest& digest) {
  auto& t = LocalCallableTable::get();
  std::lock_guard lock(t.mu);
  if (t.imported.erase(digest) != 0) t.by_digest.erase(digest);
}

void set_local_entry_loader(LocalEntryLoader loader) {
  auto& t = LocalCallableTable::get();
  std::lock_guard lock(t.mu);
  t.loader = std::move(loader);
}

const LocalEntry* find_or_load_local_entry(const Digest& digest) {
  if (const LocalEntry* e = find_local_entry(digest)) return e;
  LocalEntryLoader loader;
  {
    auto& t = LocalCallableTable::get();
    std::lock_guard lock(t.mu);
    loader = t.loader;
  }
  // Called without the lock: the loader publishes what it loads through imported().
  return loader ? loader(digest) : nullptr;
}

const LocalEntry* find_local_entry(const Digest& digest) {
  auto& t = LocalCallableTable::get();
  std::lock_guard lock(t.mu);
  auto it = t.by_digest.find(digest);
  return it == t.by_digest.end() ? nullptr : it->second;
}

}  // namespace echelon
