// The bootstrap manifest's registration lists through exactly the checks of
// PREPARE_REGISTER_CALLABLE (callables.md 8, CALL-23): each entry is rebuilt as a
// RegisterCallableCommand and prepared like one. All or nothing: the first refusal fails the
// startup naming the entry, before anything is installed.
#pragma once
#include <vector>
#include "remote/manifest.h"
#include "session/callable_preparer.h"
#include "session/callable_tables.h"

namespace echelon::session {

struct PreparedRegistration {
  Digest digest{};
  RegistryEntry entry;
};

// Throws StartupFailure(RegistryError): "manifest.<list>[i] (<hashid>): <rule>: <detail>".
std::vector<PreparedRegistration> prepare_manifest_list(const std::vector<remote::ManifestEntry>& list,
                                                        wire::RemoteRegistryTarget target,
                                                        const PrepareContext& context);

// Prepares the dispatcher list and makes every entry live in `table`.
void install_dispatcher_manifest(const std::vector<remote::ManifestEntry>& list, const PrepareContext& context,
                                 CallableTable& table);

}  // namespace echelon::session
