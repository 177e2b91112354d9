#include "session/inner_installer.h"

#include <fmt/format.h>

#include <cstdio>

#include "session/inner_handles.h"

namespace echelon::session {

void InnerInstaller::install(const Digest& digest, RegistryEntry& entry) const {
  if (entry.kind == CallableKind::CHIP_CALLABLE) {
    entry.inner_handle = inner_.register_callable(*entry.chip);
    return;
  }
  // The announcement goes first: a SUB child forked before this registration looks it up when
  // the inner Worker's "register" control reaches it.
  Announcement announcement = board_.announce(digest, entry.target_text, *entry.plugin);
  const NativeCallable native = NativeCallable::imported(entry.entry);
  try {
    entry.inner_handle = inner_.register_callable(native);
  } catch (...) {
    withdraw_imported_entry(digest);
    throw;
  }
  entry.announcement = std::move(announcement);
}

void InnerInstaller::uninstall(const Digest& digest, RegistryEntry& entry) const {
  unpublish_inner_handle(digest);
  if (entry.inner_handle) {
    try {
      inner_.unregister(*entry.inner_handle);
    } catch (const std::exception& e) {
      // The handle is ours and registered once, so this is not expected; the entry is gone from
      // every table of this runner either way.
      std::fprintf(stderr, "echelon-l3-session: unregistering inner %s: %s\n", to_hashid(digest).c_str(), e.what());
    }
    entry.inner_handle.reset();
  }
  if (entry.kind == CallableKind::NATIVE_IMPORT) withdraw_imported_entry(digest);
  entry.announcement = Announcement();
}

}  // namespace echelon::session
