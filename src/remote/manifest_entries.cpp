#include "remote/manifest_entries.h"

#include <map>

#include "fmt/format.h"
#include "wire/register_controls.h"

namespace echelon::remote {
namespace {

using json = nlohmann::json;
using Type = ManifestError::Type;

struct KindName {
  const char* name;
  CallableKind kind;
};
constexpr KindName kManifestKinds[] = {
    {"NATIVE_IMPORT", CallableKind::NATIVE_IMPORT},
    {"PYTHON_IMPORT", CallableKind::PYTHON_IMPORT},
    {"CHIP_CALLABLE", CallableKind::CHIP_CALLABLE},
};

bool is_import(CallableKind k) { return k == CallableKind::NATIVE_IMPORT || k == CallableKind::PYTHON_IMPORT; }

CallableKind parse_kind(const std::string& text, const std::string& path, ManifestRegistry registry) {
  for (const KindName& k : kManifestKinds) {
    if (text != k.name) continue;
    // RT-1002: the dispatcher hosts only orchestration entries, never chip callables.
    if (k.kind == CallableKind::CHIP_CALLABLE && registry == ManifestRegistry::REMOTE_TASK_DISPATCHER)
      throw ManifestError(path, "CHIP_CALLABLE is never valid in REMOTE_TASK_DISPATCHER", Type::REGISTRY);
    return k.kind;
  }
  throw ManifestError(path, fmt::format("must be one of {}, got '{}'",
                                        registry == ManifestRegistry::REMOTE_TASK_DISPATCHER
                                            ? "NATIVE_IMPORT, PYTHON_IMPORT"
                                            : "NATIVE_IMPORT, PYTHON_IMPORT, CHIP_CALLABLE",
                                        text.substr(0, 64)));
}

std::vector<uint8_t> decode_hex(std::string_view hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return out;
}

// The import descriptor is a function of the target text alone, so a manifest hashid can be
// checked here without any runner context.
void check_import_target(ManifestEntry& e, const std::string& path) {
  std::vector<uint8_t> descriptor;
  try {
    descriptor = e.kind == CallableKind::NATIVE_IMPORT ? native_import_descriptor(NativeImportTarget::parse(e.target))
                                                       : python_import_descriptor(PythonImportTarget::parse(e.target));
  } catch (const Error& err) {
    throw ManifestError(path + ".target", err.what(), Type::REGISTRY);
  }
  if (sha256(descriptor) != e.digest)
    throw ManifestError(path + ".hashid",
                        fmt::format("HASHID_DESCRIPTOR_MISMATCH: {} is not the hashid of {} target '{}' ({})",
                                    e.hashid(), to_string(e.kind), e.target, to_hashid(sha256(descriptor))),
                        Type::REGISTRY);
}

// callables.md 9.1 steps 1, 3 and 4; step 5 needs the runner's chip context and stays there.
void check_chip_payload(const ManifestEntry& e, const std::string& path) {
  wire::ChipCallablePayload p;
  try {
    p = wire::decode_chip_payload(e.chip_payload);
  } catch (const Error& err) {
    throw ManifestError(path, fmt::format("not a RemoteChipCallablePayloadWire v1: {}", err.what()), Type::REGISTRY);
  }
  if (p.blob_location != wire::BlobLocation::INLINE_BLOB)
    throw ManifestError(path, "blob_location must be INLINE_BLOB in a manifest", Type::REGISTRY);
  if (sha256(p.descriptor) != e.digest)
    throw ManifestError(path, fmt::format("HASHID_DESCRIPTOR_MISMATCH: descriptor digest {} differs from hashid {}",
                                          to_hashid(sha256(p.descriptor)), e.hashid()),
                        Type::REGISTRY);
  if (sha256(p.inline_blob) != p.blob_sha256)
    throw ManifestError(path, "SHA-256 of the inline blob differs from blob_sha256", Type::REGISTRY);
}

ManifestEntry parse_entry(const json& value, const std::string& path, ManifestRegistry registry) {
  ObjectReader r(value, path);
  ManifestEntry e;
  const std::string hashid = r.string("hashid");
  try {
    e.digest = parse_hashid(hashid, /*allow_bare=*/true);
  } catch (const Error& err) {
    throw ManifestError(r.path_of("hashid"), err.what());
  }
  if (auto target_registry = r.optional_string("target_registry"); target_registry && *target_registry != to_string(registry))
    throw ManifestError(r.path_of("target_registry"),
                        fmt::format("must be \"{}\" if present, got '{}'", to_string(registry), target_registry->substr(0, 64)));
  e.kind = parse_kind(r.string("kind"), r.path_of("kind"), registry);
  r.optional_integer("payload_version", 1, 1);
  if (is_import(e.kind)) {
    if (r.has("payload_hex")) throw ManifestError(r.path_of("payload_hex"), fmt::format("is forbidden for {}", to_string(e.kind)));
    e.target = r.string("target");
    if (e.target.empty() || e.target.size() > MAX_STRING_BYTES)
      throw ManifestError(r.path_of("target"), fmt::format("must be 1..{} bytes, got {}", MAX_STRING_BYTES, e.target.size()));
  } else {
    if (r.has("target")) throw ManifestError(r.path_of("target"), "is forbidden for CHIP_CALLABLE");
    const std::string hex = r.string("payload_hex");
    if (!is_lower_hex(hex)) throw ManifestError(r.path_of("payload_hex"), "must be non-empty, even-length lowercase hex");
    e.chip_payload = decode_hex(hex);
  }
  r.reject_unknown_keys();
  if (is_import(e.kind)) check_import_target(e, path);
  else check_chip_payload(e, r.path_of("payload_hex"));
  return e;
}

}  // namespace

std::vector<ManifestEntry> parse_manifest_entries(const json& list, const std::string& path, ManifestRegistry registry) {
  std::vector<ManifestEntry> entries;
  entries.reserve(list.size());
  std::map<Digest, size_t> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string entry_path = fmt::format("{}[{}]", path, i);
    ManifestEntry e = parse_entry(list[i], entry_path, registry);
    if (auto [it, fresh] = seen.emplace(e.digest, i); !fresh)
      throw ManifestError(entry_path + ".hashid", fmt::format("duplicate hashid {} (also at index {})", e.hashid(), it->second));
    entries.push_back(std::move(e));
  }
  return entries;
}

json entry_to_json(const ManifestEntry& e, ManifestRegistry registry) {
  json j = json::object();
  j["hashid"] = e.hashid();
  j["target_registry"] = to_string(registry);
  j["kind"] = to_string(e.kind);
  j["payload_version"] = 1;
  if (e.kind == CallableKind::CHIP_CALLABLE) j["payload_hex"] = to_hex(e.chip_payload);
  else j["target"] = e.target;
  return j;
}

}  // namespace echelon::remote
