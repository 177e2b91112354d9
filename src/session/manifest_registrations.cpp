#include "session/manifest_registrations.h"

#include <fmt/format.h>

#include "session/register_refusal.h"
#include "session/startup_failure.h"

namespace echelon::session {

namespace {

wire::RegisterCallableCommand as_command(const remote::ManifestEntry& e, wire::RemoteRegistryTarget target) {
  wire::RegisterCallableCommand c;
  c.target = target;
  c.kind = e.kind;
  c.digest = e.digest;
  c.payload_version = wire::REGISTER_PAYLOAD_VERSION;
  if (e.kind == CallableKind::CHIP_CALLABLE) c.payload = e.chip_payload;
  else c.payload.assign(e.target.begin(), e.target.end());
  return c;
}

}  // namespace

std::vector<PreparedRegistration> prepare_manifest_list(const std::vector<remote::ManifestEntry>& list,
                                                        wire::RemoteRegistryTarget target,
                                                        const PrepareContext& context) {
  const char* list_name =
      target == wire::RemoteRegistryTarget::INNER_L3_WORKER ? "inner_l3_worker" : "remote_task_dispatcher";
  std::vector<PreparedRegistration> prepared;
  for (size_t i = 0; i < list.size(); ++i) {
    try {
      prepared.push_back({list[i].digest, prepare_callable(as_command(list[i], target), context)});
    } catch (const std::exception& e) {
      // `prepared` goes out of scope with the throw: every library loaded so far is released.
      throw StartupFailure(remote::ReplyErrorType::RegistryError,
                           fmt::format("manifest.{}[{}] ({}): {}", list_name, i, list[i].hashid(), e.what()));
    }
  }
  return prepared;
}

void install_dispatcher_manifest(const std::vector<remote::ManifestEntry>& list, const PrepareContext& context,
                                 CallableTable& table) {
  auto prepared = prepare_manifest_list(list, wire::RemoteRegistryTarget::REMOTE_TASK_DISPATCHER, context);
  for (auto& p : prepared) table.make_live(p.digest, std::move(p.entry));
}

}  // namespace echelon::session
