// The bootstrap manifest (runtime.md 9.2, RT-909; entries: callables.md 8): the one JSON object a
// parent sends to start a remote L3 session. The daemon (before creating any pipe or process) and
// the runner (before starting any thread) run this same validator on the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "echelon/callable.h"
#include "remote/strict_json.h"

namespace echelon::remote {

inline constexpr uint64_t MANIFEST_VERSION = 1;
inline constexpr size_t MAX_BOOTSTRAP_BYTES = 16u * 1024 * 1024;  // protocol.md 1.1
inline constexpr size_t MAX_MANIFEST_ENTRIES = 1024;
inline constexpr uint64_t MAX_SESSION_ID = (uint64_t{1} << 63) - 1;
inline constexpr uint64_t MAX_WORKER_ID = (uint64_t{1} << 31) - 1;
inline constexpr uint64_t MAX_FEATURE_BITS = (uint64_t{1} << 53) - 1;
inline constexpr uint32_t MAX_CHIPS = 64;
inline constexpr uint32_t MAX_SUB_WORKERS = 64;
inline constexpr uint32_t MAX_PIPELINE_WINDOW = 16;
inline constexpr uint64_t MIN_HEAP_RING_BYTES = uint64_t{1} << 20;
inline constexpr uint64_t MAX_HEAP_RING_BYTES = uint64_t{1} << 40;
inline constexpr size_t MAX_UCX_ADDR_HEX_DIGITS = 4096;

enum class TransportProfile : uint8_t { HOST_TCP, UCX };
const char* to_string(TransportProfile p);

// Which of the manifest's two registration lists an entry came from.
enum class ManifestRegistry : uint8_t { REMOTE_TASK_DISPATCHER, INNER_L3_WORKER };
const char* to_string(ManifestRegistry r);

// One pre-init registration (callables.md 8). `target` is set for the import kinds, `chip_payload`
// (a RemoteChipCallablePayloadWire v1, INLINE_BLOB) for CHIP_CALLABLE.
struct ManifestEntry {
  Digest digest{};
  CallableKind kind = CallableKind::NATIVE_IMPORT;
  std::string target;
  std::vector<uint8_t> chip_payload;

  std::string hashid() const { return to_hashid(digest); }
  friend bool operator==(const ManifestEntry&, const ManifestEntry&) = default;
};

// Every key of RT-909 with its default; `ucx_*` are non-empty exactly when the profile is UCX.
struct BootstrapManifest {
  uint64_t session_id = 0;
  uint32_t worker_id = 0;
  uint32_t parent_worker_level = 4;
  uint32_t remote_worker_level = 3;
  TransportProfile transport_profile = TransportProfile::HOST_TCP;
  uint32_t num_chips = 0;
  uint32_t num_sub_workers = 0;
  uint64_t heap_ring_bytes = uint64_t{256} << 20;
  double startup_budget_s = 0;
  double health_interval_s = 0.2;
  double health_expiry_s = 30;
  double shutdown_timeout_s = 10;
  uint64_t requested_features = 0;
  uint64_t required_features = 0;
  uint32_t pipeline_window = 1;
  std::string ucx_parent_command_worker_addr;
  std::string ucx_parent_health_worker_addr;
  std::vector<ManifestEntry> remote_task_dispatcher;
  std::vector<ManifestEntry> inner_l3_worker;

  friend bool operator==(const BootstrapManifest&, const BootstrapManifest&) = default;
};

// A manifest was rejected. The reply type follows RT-910: schema violations are ManifestError;
// an entry that is well-formed JSON but not a valid registration (kind not allowed in its
// registry, hashid not matching its descriptor, bad chip payload) is RegistryError.
class ManifestError : public SchemaError {
 public:
  enum class Type : uint8_t { MANIFEST, REGISTRY };
  ManifestError(std::string path, std::string reason, Type type = Type::MANIFEST)
      : SchemaError(std::move(path), std::move(reason)), type_(type) {}
  Type type() const { return type_; }
  // The `error` text of a failure reply: "ManifestError: manifest.num_chips: ...".
  std::string reply_error() const;

 private:
  Type type_;
};

// What this daemon or runner build can serve; the profile `ucx` is valid only where built in.
struct ManifestPolicy {
  bool ucx_available = false;
};

// A session id as it travels in JSON: a decimal string (numbers above 2^53 do not survive every
// JSON parser), 1-19 digits, no leading zero, 1..2^63-1. Throws ManifestError at `path`.
uint64_t parse_session_id(const std::string& text, const std::string& path);

// Parses and validates completely (schema, ranges, defaults, cross-field rules, entries); throws
// ManifestError naming the first bad key or value. Creates no resource.
BootstrapManifest parse_manifest(std::string_view json, const ManifestPolicy& policy = {});

// Canonical JSON (every key written, fixed order, hashids with the "sha256:" prefix);
// parse_manifest(to_json(m)) == m. Throws ManifestError for a manifest the parser would refuse
// (the profile's availability excepted: only the daemon knows it).
std::string to_json(const BootstrapManifest& manifest);

}  // namespace echelon::remote
