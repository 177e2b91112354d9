// The bootstrap reply (runtime.md 9.3, RT-910) and the runner's status message it is built from
// (RT-911). Both are strict JSON objects under the RT-909 parsing rules, with exactly the keys
// the spec lists; a reply with a missing, unknown or mismatching key is an attach failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "remote/manifest.h"

namespace echelon::remote {

inline constexpr size_t MAX_REPLY_ERROR_MESSAGE_BYTES = 4096;
inline constexpr size_t MAX_STATUS_BYTES = 65536;

enum class ReplyErrorType : uint8_t {
  AuthError, ManifestError, RegistryError, StartupError, TimeoutError, BusyError, DaemonError
};
const char* to_string(ReplyErrorType t);

// `"error": "<Type>: <message>"`. AuthError's message is always "authentication failed", so a
// failed check never tells the peer which check it was.
struct ReplyError {
  ReplyErrorType type = ReplyErrorType::DaemonError;
  std::string message;  // at most 4096 bytes, cut at a UTF-8 boundary by make_reply_error

  std::string text() const;
  friend bool operator==(const ReplyError&, const ReplyError&) = default;
};
// Builds an error with its message truncated to the limit (AuthError: the fixed message).
ReplyError make_reply_error(ReplyErrorType type, std::string_view message);
ReplyError auth_failure();

// Where the parent reaches the runner's lanes: ports on host_tcp, worker addresses on ucx.
struct LaneAddresses {
  TransportProfile profile = TransportProfile::HOST_TCP;
  uint16_t command_port = 0;
  uint16_t health_port = 0;
  std::string ucx_command_worker_addr;
  std::string ucx_health_worker_addr;

  friend bool operator==(const LaneAddresses&, const LaneAddresses&) = default;
};

using SessionOutcome = std::variant<LaneAddresses, ReplyError>;

// The runner's one message on its status fd.
struct RunnerStatus {
  SessionOutcome outcome;
  bool ok() const { return std::holds_alternative<LaneAddresses>(outcome); }
  friend bool operator==(const RunnerStatus&, const RunnerStatus&) = default;
};

// What the daemon sends the parent: the runner's status plus, on success, the echo keys.
struct BootstrapReply {
  SessionOutcome outcome;
  uint64_t session_id = 0;  // success only
  uint32_t worker_id = 0;   // success only
  bool ok() const { return std::holds_alternative<LaneAddresses>(outcome); }
  friend bool operator==(const BootstrapReply&, const BootstrapReply&) = default;
};

// Parsers throw SchemaError naming "status.<key>" / "reply.<key>".
RunnerStatus parse_runner_status(std::string_view json);
std::string to_json(const RunnerStatus& status);
BootstrapReply parse_reply(std::string_view json);
std::string to_json(const BootstrapReply& reply);

// The daemon's relay: echo keys from the manifest on success, the status error otherwise.
BootstrapReply make_reply(const RunnerStatus& status, const BootstrapManifest& manifest);
BootstrapReply failure_reply(ReplyError error);
// Parent side: the echo keys and the lane kind must match what it asked for; throws SchemaError.
void check_reply_matches(const BootstrapReply& reply, const BootstrapManifest& manifest);

}  // namespace echelon::remote
