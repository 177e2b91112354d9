// The runner's two callable registries (callables.md 3): REMOTE_TASK_DISPATCHER, which every TASK
// resolves its digest in, and INNER_L3_WORKER, whose entries are installed on the inner Worker for
// orchestration code running there. Each keeps a prepared table (staged by
// PREPARE_REGISTER_CALLABLE, invisible to TASKs and inner lookups) and a live table (committed, or
// installed from the manifest). Only the command-loop thread touches them, so controls and TASKs
// are serialised by construction.
#pragma once
#include <optional>
#include <string>
#include <unordered_map>
#include "echelon/chip_callable.h"
#include "echelon/native_callable.h"
#include "runtime/plugin_resolver.h"
#include "session/import_board.h"
#include "wire/register_controls.h"

namespace echelon::session {

const char* registry_name(wire::RemoteRegistryTarget target);

// One digest in one registry, with the resources that make it runnable. Staged resources belong to
// the prepared entry and move with it to the live table on commit; destroying the entry (abort,
// unregister, session end) releases them.
struct RegistryEntry {
  CallableKind kind = CallableKind::NATIVE_IMPORT;
  std::string target_text;                // NATIVE_IMPORT: "library:symbol"
  std::optional<ResolvedPlugin> plugin;   // NATIVE_IMPORT: keeps the library loaded
  LocalEntry entry;                       // NATIVE_IMPORT: orchestration (dispatcher) or sub (inner)
  std::optional<ChipCallable> chip;       // CHIP_CALLABLE: the verified blob (inner only)
  std::optional<CallableHandle> inner_handle;  // live inner entries: the inner Worker's handle
  Announcement announcement;              // live inner NATIVE_IMPORT: what SUB children open
};

class CallableTable {
 public:
  const RegistryEntry* prepared(const Digest& digest) const { return find(prepared_, digest); }
  const RegistryEntry* live(const Digest& digest) const { return find(live_, digest); }

  // Replaces any prepared entry of the digest.
  void stage(const Digest& digest, RegistryEntry entry);
  std::optional<RegistryEntry> take_prepared(const Digest& digest) { return take(prepared_, digest); }
  void make_live(const Digest& digest, RegistryEntry entry);
  std::optional<RegistryEntry> take_live(const Digest& digest) { return take(live_, digest); }

  size_t prepared_count() const { return prepared_.size(); }
  size_t live_count() const { return live_.size(); }

 private:
  using Map = std::unordered_map<Digest, RegistryEntry, DigestHash>;
  static const RegistryEntry* find(const Map& map, const Digest& digest);
  static std::optional<RegistryEntry> take(Map& map, const Digest& digest);
  Map prepared_;
  Map live_;
};

struct RunnerRegistries {
  CallableTable dispatcher;
  CallableTable inner;
  CallableTable& of(wire::RemoteRegistryTarget target) {
    return target == wire::RemoteRegistryTarget::INNER_L3_WORKER ? inner : dispatcher;
  }
};

}  // namespace echelon::session
