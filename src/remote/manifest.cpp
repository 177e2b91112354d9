#include "remote/manifest.h"

#include "fmt/format.h"
#include "remote/manifest_entries.h"

namespace echelon::remote {
namespace {

using json = nlohmann::json;
constexpr uint64_t FEATURE_PIPELINED_TASKS = 0x02;  // protocol.md 15.1

TransportProfile parse_profile(const std::string& text, const std::string& path, const ManifestPolicy& policy) {
  if (text == "host_tcp") return TransportProfile::HOST_TCP;
  if (text == "ucx") {
    if (!policy.ucx_available) throw ManifestError(path, "profile 'ucx' is not available: this build has no UCX");
    return TransportProfile::UCX;
  }
  throw ManifestError(path, fmt::format("must be \"host_tcp\" or \"ucx\", got '{}'", text.substr(0, 64)));
}

std::string ucx_address(ObjectReader& r, std::string_view key) {
  std::string hex = r.string(key);
  if (!is_lower_hex(hex) || hex.size() > MAX_UCX_ADDR_HEX_DIGITS)
    throw ManifestError(r.path_of(key), fmt::format("must be lowercase hex of even length, 2..{} digits", MAX_UCX_ADDR_HEX_DIGITS));
  return hex;
}

template <class T>
T narrow(uint64_t v) {
  return static_cast<T>(v);  // callers pass values already range-checked to fit T
}

BootstrapManifest read_manifest(const json& doc, const ManifestPolicy& policy) {
  ObjectReader r(doc, "manifest");
  BootstrapManifest m;
  r.integer("manifest_version", MANIFEST_VERSION, MANIFEST_VERSION);
  m.session_id = parse_session_id(r.string("session_id"), r.path_of("session_id"));
  m.worker_id = narrow<uint32_t>(r.integer("worker_id", 0, MAX_WORKER_ID));
  m.parent_worker_level = narrow<uint32_t>(r.integer("parent_worker_level", 4, 6));
  m.remote_worker_level = narrow<uint32_t>(r.integer("remote_worker_level", 3, 3));
  m.transport_profile = parse_profile(r.string("transport_profile"), r.path_of("transport_profile"), policy);
  m.num_chips = narrow<uint32_t>(r.optional_integer("num_chips", 0, MAX_CHIPS).value_or(m.num_chips));
  m.num_sub_workers = narrow<uint32_t>(r.optional_integer("num_sub_workers", 0, MAX_SUB_WORKERS).value_or(m.num_sub_workers));
  m.heap_ring_bytes = r.optional_integer("heap_ring_bytes", MIN_HEAP_RING_BYTES, MAX_HEAP_RING_BYTES).value_or(m.heap_ring_bytes);
  if (m.heap_ring_bytes % 1024 != 0)
    throw ManifestError(r.path_of("heap_ring_bytes"), fmt::format("must be a multiple of 1024, got {}", m.heap_ring_bytes));

  m.startup_budget_s = r.duration("startup_budget_s");
  m.health_interval_s = r.optional_duration("health_interval_s").value_or(m.health_interval_s);
  m.health_expiry_s = r.optional_duration("health_expiry_s").value_or(m.health_expiry_s);
  m.shutdown_timeout_s = r.optional_duration("shutdown_timeout_s").value_or(m.shutdown_timeout_s);
  // Checked after defaults: an explicit interval can break the default expiry and vice versa.
  if (m.health_expiry_s < 2 * m.health_interval_s)
    throw ManifestError(r.path_of("health_expiry_s"), fmt::format("must be >= 2 x health_interval_s ({}), got {}",
                                                                  m.health_interval_s, m.health_expiry_s));

  m.requested_features = r.optional_integer("requested_features", 0, MAX_FEATURE_BITS).value_or(0);
  m.required_features = r.optional_integer("required_features", 0, MAX_FEATURE_BITS).value_or(0);
  if ((m.required_features & ~m.requested_features) != 0)
    throw ManifestError(r.path_of("required_features"),
                        fmt::format("bits {:#x} are required but not requested", m.required_features & ~m.requested_features));
  m.pipeline_window = narrow<uint32_t>(r.optional_integer("pipeline_window", 1, MAX_PIPELINE_WINDOW).value_or(1));
  if (m.pipeline_window > 1 && !(m.requested_features & FEATURE_PIPELINED_TASKS))
    throw ManifestError(r.path_of("pipeline_window"),
                        fmt::format("{} > 1 requires FEATURE_PIPELINED_TASKS in requested_features", m.pipeline_window));

  const bool ucx = m.transport_profile == TransportProfile::UCX;
  for (std::string_view key : {"ucx_parent_command_worker_addr", "ucx_parent_health_worker_addr"})
    if (!ucx && r.has(key)) throw ManifestError(r.path_of(key), "is allowed only with transport_profile \"ucx\"");
  if (ucx) {
    m.ucx_parent_command_worker_addr = ucx_address(r, "ucx_parent_command_worker_addr");
    m.ucx_parent_health_worker_addr = ucx_address(r, "ucx_parent_health_worker_addr");
  }

  if (const json* list = r.optional_array("remote_task_dispatcher", MAX_MANIFEST_ENTRIES))
    m.remote_task_dispatcher =
        parse_manifest_entries(*list, r.path_of("remote_task_dispatcher"), ManifestRegistry::REMOTE_TASK_DISPATCHER);
  if (const json* list = r.optional_array("inner_l3_worker", MAX_MANIFEST_ENTRIES))
    m.inner_l3_worker = parse_manifest_entries(*list, r.path_of("inner_l3_worker"), ManifestRegistry::INNER_L3_WORKER);
  r.reject_unknown_keys();
  return m;
}

}  // namespace

// session_id travels as a decimal string: JSON numbers above 2^53 do not survive every parser.
uint64_t parse_session_id(const std::string& text, const std::string& path) {
  auto fail = [&](const char* why) -> uint64_t {
    throw ManifestError(path, fmt::format("{}, got '{}'", why, text.substr(0, 32)));
  };
  if (text.empty() || text.size() > 19) return fail("must be 1-19 decimal digits");
  if (text[0] == '0') return fail("must be 1..2^63-1 without leading zeros");
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return fail("must be decimal digits only");
    v = v * 10 + static_cast<uint64_t>(c - '0');  // 19 digits never overflow 64 bits
  }
  if (v > MAX_SESSION_ID) return fail("must be at most 2^63-1 (9223372036854775807)");
  return v;
}

const char* to_string(TransportProfile p) { return p == TransportProfile::UCX ? "ucx" : "host_tcp"; }

const char* to_string(ManifestRegistry r) {
  return r == ManifestRegistry::INNER_L3_WORKER ? "INNER_L3_WORKER" : "REMOTE_TASK_DISPATCHER";
}

std::string ManifestError::reply_error() const {
  return fmt::format("{}: {}", type_ == Type::REGISTRY ? "RegistryError" : "ManifestError", what());
}

BootstrapManifest parse_manifest(std::string_view text, const ManifestPolicy& policy) {
  try {
    return read_manifest(parse_strict_object(text, "manifest", MAX_BOOTSTRAP_BYTES), policy);
  } catch (const ManifestError&) {
    throw;
  } catch (const SchemaError& e) {
    throw ManifestError(e.path(), e.reason());
  }
}

std::string to_json(const BootstrapManifest& m) {
  json j = json::object();
  j["manifest_version"] = MANIFEST_VERSION;
  j["session_id"] = std::to_string(m.session_id);
  j["worker_id"] = m.worker_id;
  j["parent_worker_level"] = m.parent_worker_level;
  j["remote_worker_level"] = m.remote_worker_level;
  j["transport_profile"] = to_string(m.transport_profile);
  j["num_chips"] = m.num_chips;
  j["num_sub_workers"] = m.num_sub_workers;
  j["heap_ring_bytes"] = m.heap_ring_bytes;
  j["startup_budget_s"] = m.startup_budget_s;
  j["health_interval_s"] = m.health_interval_s;
  j["health_expiry_s"] = m.health_expiry_s;
  j["shutdown_timeout_s"] = m.shutdown_timeout_s;
  j["requested_features"] = m.requested_features;
  j["required_features"] = m.required_features;
  j["pipeline_window"] = m.pipeline_window;
  if (m.transport_profile == TransportProfile::UCX) {
    j["ucx_parent_command_worker_addr"] = m.ucx_parent_command_worker_addr;
    j["ucx_parent_health_worker_addr"] = m.ucx_parent_health_worker_addr;
  }
  json& dispatcher = j["remote_task_dispatcher"] = json::array();
  for (const ManifestEntry& e : m.remote_task_dispatcher) dispatcher.push_back(entry_to_json(e, ManifestRegistry::REMOTE_TASK_DISPATCHER));
  json& inner = j["inner_l3_worker"] = json::array();
  for (const ManifestEntry& e : m.inner_l3_worker) inner.push_back(entry_to_json(e, ManifestRegistry::INNER_L3_WORKER));
  // Non-finite doubles would dump as null; the round trip through the validator catches those
  // and every other field the parser would refuse, so nothing invalid leaves the parent.
  std::string text = j.dump();
  parse_manifest(text, ManifestPolicy{.ucx_available = true});
  return text;
}

}  // namespace echelon::remote
