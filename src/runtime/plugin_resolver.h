// Finding and loading NATIVE_IMPORT plugins (callables.md 2.6, CALL-8): a plugin name maps to
// lib<name>.so looked up only inside the configured directories, in order; the first directory
// where the file exists decides, and its real path must stay inside that directory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "echelon/callable.h"
#include "echelon/errors.h"
#include "echelon/native_callable.h"

namespace echelon {

// NOT_FOUND: nothing to load under that name; REJECTED: found, but refused (escape, ABI, type).
class PluginError : public CallableError {
 public:
  enum class Status { NOT_FOUND, REJECTED };
  PluginError(Status status, const std::string& what) : CallableError(what), status_(status) {}
  Status status() const { return status_; }

 private:
  Status status_;
};

struct ResolvedPlugin {
  std::string path;             // canonical path of the loaded file
  Digest file_sha256{};         // what was loaded (for drift warnings across workers)
  EntryKind entry_kind = EntryKind::SUB;
  std::shared_ptr<void> library;  // dlclose when the last user goes
  void* entry = nullptr;          // echelon_orch_entry_t* or echelon_sub_entry_t*
};

// Resolves `target` in `dirs`. `required` narrows the accepted entry kind (a registry that only
// hosts one shape); throws PluginError naming library, symbol and the searched directories.
ResolvedPlugin resolve_plugin(const NativeImportTarget& target, const std::vector<std::string>& dirs,
                              std::optional<EntryKind> required = std::nullopt);

// Loads the plugin file at `path`, already resolved and checked to be inside its directory (by
// resolve_plugin, or by the process that resolved it and handed the path over): dlopen, ABI
// version, symbol, entry kind. `what` names the plugin in errors. Throws PluginError.
ResolvedPlugin load_plugin_file(const std::string& path, const NativeImportTarget& target,
                                std::optional<EntryKind> required, const std::string& what);

// Wraps a resolved entry as a LocalEntry the engine can run (a non-zero return throws with the
// entry's error text, or "entry returned <n>").
LocalEntry make_plugin_entry(const Digest& digest, const std::string& name, const ResolvedPlugin& plugin);

}  // namespace echelon
