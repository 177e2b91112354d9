// Host callables (NATIVE_INPROC, runtime.md RT-1003) and the handles that name registrations.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "echelon/call_config.h"
#include "echelon/callable.h"
#include "echelon/ids.h"
#include "echelon/task_args.h"

namespace echelon {

class Orchestrator;

// What a SUB callable receives: its arguments and the local address of each tensor.
class SubCall {
 public:
  explicit SubCall(const TaskArgs& args) : args_(args) {}
  const TaskArgs& args() const { return args_; }
  std::byte* data(size_t tensor_index) const { return args_.tensor(tensor_index).data(); }
  template <typename T>
  T* data_as(size_t tensor_index) const { return reinterpret_cast<T*>(data(tensor_index)); }

 private:
  const TaskArgs& args_;
};

// The two entry shapes of native callables (callables.md 2.6), plus chip kernels, which the engine
// tracks the same way (they are not a plugin entry kind).
enum class EntryKind : uint32_t { ORCHESTRATION = 1, SUB = 2, CHIP_KERNEL = 3 };
const char* to_string(EntryKind k);

using OrchFn = std::function<void(Orchestrator&, const TaskArgs&, const CallConfig&)>;
using SubFn = std::function<void(const SubCall&)>;

// One resolvable local entry: what a digest runs in this process.
struct LocalEntry {
  Digest digest{};
  std::string name;
  EntryKind entry_kind = EntryKind::SUB;
  OrchFn orch;
  SubFn sub;
};

// A callable described for registration on a Worker's local children (LOCAL_NATIVE scope).
class NativeCallable {
 public:
  // Names `fn` in this process's callable table. One name maps to one function: naming a different
  // function the second time throws CallableError(HASHID_DESCRIPTOR_MISMATCH).
  static NativeCallable inproc(const std::string& name, OrchFn fn);
  static NativeCallable inproc(const std::string& name, SubFn fn);
  // Publishes a resolved NATIVE_IMPORT entry (a plugin's orchestration or sub entry) in this
  // process's callable table under `entry.digest`, so children forked afterwards, and EntryTable
  // "register" controls, find it. The identity is the name, so while a digest is published a
  // second call returns the published entry unchanged.
  static NativeCallable imported(LocalEntry entry);

  const CallableIdentity& identity() const { return identity_; }
  EntryKind entry_kind() const { return entry_->entry_kind; }
  const std::string& name() const { return entry_->name; }
  const LocalEntry& entry() const { return *entry_; }

 private:
  NativeCallable() = default;
  CallableIdentity identity_;
  const LocalEntry* entry_ = nullptr;  // owned by the process-wide table; lives forever
};

// The static task table: `ECHELON_TASK(name, fn)` at namespace scope binds `name` to the plain
// function `fn` during static initialisation, so every process of this binary (including children
// forked before a registration) knows it. Callables registered after init() on process children
// must come from here (RT-1003).
#define ECHELON_TASK_CONCAT2(a, b) a##b
#define ECHELON_TASK_CONCAT(a, b) ECHELON_TASK_CONCAT2(a, b)
#define ECHELON_TASK(name, fn)                                                     \
  [[maybe_unused]] static const ::echelon::NativeCallable ECHELON_TASK_CONCAT( \
      echelon_task_, __COUNTER__) = ::echelon::NativeCallable::inproc(name, fn)

// Looks a digest up in this process's callable table (nullptr when unknown).
const LocalEntry* find_local_entry(const Digest& digest);

// Removes an entry published with NativeCallable::imported from lookup (in-process names are
// permanent and are left alone). The entry object itself stays alive for the life of the process,
// because endpoints may still hold its address; a later imported() publishes a fresh one.
void withdraw_imported_entry(const Digest& digest);

// Where a process finds imported entries it was forked too early to inherit: a session runner's SUB
// children are forked before post-init NATIVE_IMPORT registrations, so the runner installs a loader
// (before fork) that opens the plugin file the runner resolved. The loader returns nullptr when it
// knows nothing of the digest and throws when loading fails. Not thread-safe against lookups: set it
// while the process is single-threaded.
using LocalEntryLoader = std::function<const LocalEntry*(const Digest&)>;
void set_local_entry_loader(LocalEntryLoader loader);
// find_local_entry, then the loader (if one is set).
const LocalEntry* find_or_load_local_entry(const Digest& digest);

// Opaque, Worker-bound token for one registration (RT-211). Copyable; cannot be forged: submit
// checks it against the issuing Worker's live record.
class CallableHandle {
 public:
  CallableHandle() = default;
  std::string hashid() const { return identity_.hashid(); }
  const CallableIdentity& identity() const { return identity_; }
  CallableKind kind() const { return identity_.kind; }
  TargetNamespace target_namespace() const { return identity_.scope; }
  // Remote handles: the workers the registration named (sorted); empty for local handles.
  const std::vector<WorkerId>& workers() const { return workers_; }
  bool valid() const { return handle_id_ != 0; }

 private:
  friend class CallableRegistry;
  uint64_t owner_token_ = 0;
  uint64_t handle_id_ = 0;
  CallableIdentity identity_;
  std::vector<WorkerId> workers_;
};

}  // namespace echelon
