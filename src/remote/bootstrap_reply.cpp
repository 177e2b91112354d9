#include "remote/bootstrap_reply.h"

#include "fmt/format.h"

namespace echelon::remote {
namespace {

using json = nlohmann::json;

constexpr ReplyErrorType kErrorTypes[] = {ReplyErrorType::AuthError,    ReplyErrorType::ManifestError,
                                          ReplyErrorType::RegistryError, ReplyErrorType::StartupError,
                                          ReplyErrorType::TimeoutError, ReplyErrorType::BusyError,
                                          ReplyErrorType::DaemonError};
constexpr std::string_view kAuthFailedMessage = "authentication failed";

ReplyError parse_error_text(const std::string& text, const std::string& path) {
  const size_t colon = text.find(": ");
  if (colon == std::string::npos) throw SchemaError(path, "must be \"<Type>: <message>\"");
  const std::string_view type_name = std::string_view(text).substr(0, colon);
  const std::string message = text.substr(colon + 2);
  for (ReplyErrorType t : kErrorTypes) {
    if (type_name != to_string(t)) continue;
    if (message.empty()) throw SchemaError(path, "has an empty message");
    if (message.size() > MAX_REPLY_ERROR_MESSAGE_BYTES)
      throw SchemaError(path, fmt::format("message is {} bytes, at most {}", message.size(), MAX_REPLY_ERROR_MESSAGE_BYTES));
    if (t == ReplyErrorType::AuthError && message != kAuthFailedMessage)
      throw SchemaError(path, "AuthError must read exactly \"AuthError: authentication failed\"");
    return {t, message};
  }
  throw SchemaError(path, fmt::format("unknown error type '{}'", type_name.substr(0, 32)));
}

uint16_t read_port(ObjectReader& r, std::string_view key) { return static_cast<uint16_t>(r.integer(key, 1, 65535)); }

std::string read_ucx_addr(ObjectReader& r, std::string_view key) {
  std::string hex = r.string(key);
  if (!is_lower_hex(hex) || hex.size() > MAX_UCX_ADDR_HEX_DIGITS)
    throw SchemaError(r.path_of(key), fmt::format("must be lowercase hex of even length, 2..{} digits", MAX_UCX_ADDR_HEX_DIGITS));
  return hex;
}

// Reads "ok" and the outcome keys; the caller reads its own extra keys before rejecting unknowns.
SessionOutcome read_outcome(ObjectReader& r) {
  if (!r.boolean("ok")) return parse_error_text(r.string("error"), r.path_of("error"));
  LaneAddresses lanes;
  if (r.has("command_port") || r.has("health_port")) {
    lanes.command_port = read_port(r, "command_port");
    lanes.health_port = read_port(r, "health_port");
  } else if (r.has("ucx_command_worker_addr") || r.has("ucx_health_worker_addr")) {
    lanes.profile = TransportProfile::UCX;
    lanes.ucx_command_worker_addr = read_ucx_addr(r, "ucx_command_worker_addr");
    lanes.ucx_health_worker_addr = read_ucx_addr(r, "ucx_health_worker_addr");
  } else {
    throw SchemaError(r.path_of("command_port"), "required key is missing (or the ucx_*_worker_addr pair)");
  }
  return lanes;
}

void write_outcome(json& j, const SessionOutcome& outcome) {
  if (const auto* err = std::get_if<ReplyError>(&outcome)) {
    j["ok"] = false;
    j["error"] = err->text();
    return;
  }
  const auto& lanes = std::get<LaneAddresses>(outcome);
  j["ok"] = true;
  if (lanes.profile == TransportProfile::HOST_TCP) {
    j["command_port"] = lanes.command_port;
    j["health_port"] = lanes.health_port;
  } else {
    j["ucx_command_worker_addr"] = lanes.ucx_command_worker_addr;
    j["ucx_health_worker_addr"] = lanes.ucx_health_worker_addr;
  }
}

}  // namespace

const char* to_string(ReplyErrorType t) {
  switch (t) {
    case ReplyErrorType::AuthError: return "AuthError";
    case ReplyErrorType::ManifestError: return "ManifestError";
    case ReplyErrorType::RegistryError: return "RegistryError";
    case ReplyErrorType::StartupError: return "StartupError";
    case ReplyErrorType::TimeoutError: return "TimeoutError";
    case ReplyErrorType::BusyError: return "BusyError";
    case ReplyErrorType::DaemonError: return "DaemonError";
  }
  return "DaemonError";
}

std::string ReplyError::text() const { return fmt::format("{}: {}", to_string(type), message); }

ReplyError make_reply_error(ReplyErrorType type, std::string_view message) {
  if (type == ReplyErrorType::AuthError) return auth_failure();
  std::string cut = truncate_utf8(message, MAX_REPLY_ERROR_MESSAGE_BYTES);
  if (cut.empty()) cut = "unspecified";
  return {type, std::move(cut)};
}

ReplyError auth_failure() { return {ReplyErrorType::AuthError, std::string(kAuthFailedMessage)}; }

RunnerStatus parse_runner_status(std::string_view text) {
  const json doc = parse_strict_object(text, "status", MAX_STATUS_BYTES);
  ObjectReader r(doc, "status");
  RunnerStatus s{read_outcome(r)};
  r.reject_unknown_keys();
  return s;
}

std::string to_json(const RunnerStatus& status) {
  json j = json::object();
  write_outcome(j, status.outcome);
  return j.dump();
}

BootstrapReply parse_reply(std::string_view text) {
  const json doc = parse_strict_object(text, "reply", MAX_BOOTSTRAP_BYTES);
  ObjectReader r(doc, "reply");
  BootstrapReply reply{read_outcome(r)};
  if (reply.ok()) {
    const std::string sid = r.string("session_id");
    reply.session_id = parse_session_id(sid, r.path_of("session_id"));
    reply.worker_id = static_cast<uint32_t>(r.integer("worker_id", 0, MAX_WORKER_ID));
  }
  r.reject_unknown_keys();
  return reply;
}

std::string to_json(const BootstrapReply& reply) {
  json j = json::object();
  write_outcome(j, reply.outcome);
  if (reply.ok()) {
    j["session_id"] = std::to_string(reply.session_id);
    j["worker_id"] = reply.worker_id;
  }
  return j.dump();
}

BootstrapReply make_reply(const RunnerStatus& status, const BootstrapManifest& manifest) {
  if (!status.ok()) return failure_reply(std::get<ReplyError>(status.outcome));
  return {status.outcome, manifest.session_id, manifest.worker_id};
}

BootstrapReply failure_reply(ReplyError error) { return {std::move(error), 0, 0}; }

void check_reply_matches(const BootstrapReply& reply, const BootstrapManifest& manifest) {
  if (!reply.ok()) return;
  if (reply.session_id != manifest.session_id)
    throw SchemaError("reply.session_id", fmt::format("echoes {}, the manifest sent {}", reply.session_id, manifest.session_id));
  if (reply.worker_id != manifest.worker_id)
    throw SchemaError("reply.worker_id", fmt::format("echoes {}, the manifest sent {}", reply.worker_id, manifest.worker_id));
  if (std::get<LaneAddresses>(reply.outcome).profile != manifest.transport_profile)
    throw SchemaError("reply", fmt::format("lane addresses are not those of profile {}", to_string(manifest.transport_profile)));
}

}  // namespace echelon::remote
