#include "session/callable_tables.h"

namespace echelon::session {

const char* registry_name(wire::RemoteRegistryTarget target) {
  switch (target) {
    case wire::RemoteRegistryTarget::REMOTE_TASK_DISPATCHER: return "REMOTE_TASK_DISPATCHER";
    case wire::RemoteRegistryTarget::INNER_L3_WORKER: return "INNER_L3_WORKER";
  }
  return "an unknown registry";
}

const RegistryEntry* CallableTable::find(const Map& map, const Digest& digest) {
  const auto it = map.find(digest);
  return it == map.end() ? nullptr : &it->second;
}

std::optional<RegistryEntry> CallableTable::take(Map& map, const Digest& digest) {
  auto node = map.extract(digest);
  if (node.empty()) return std::nullopt;
  return std::move(node.mapped());
}

void CallableTable::stage(const Digest& digest, RegistryEntry entry) { prepared_.insert_or_assign(digest, std::move(entry)); }

void CallableTable::make_live(const Digest& digest, RegistryEntry entry) { live_.insert_or_assign(digest, std::move(entry)); }

}  // namespace echelon::session
