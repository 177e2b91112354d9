// One bootstrap connection, start to finish (runtime.md RT-902/903/910, protocol.md 1.1 and 15.3):
// authenticate (unless the daemon runs --insecure-no-auth), read the request within the proof
// timeout, validate the whole manifest, take a session slot, spawn the runner, wait for its status
// within the startup budget, reply, and hand the runner over. Runs on its own thread; every wait
// is bounded; nothing it does can affect another connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "remote/daemon/session_cancel.h"
#include "remote/daemon/session_slots.h"
#include "remote/manifest.h"
#include "remote/runner_handoff.h"
#include "transport/secret.h"
#include "transport/tcp_socket.h"

namespace echelon::remote::daemon {

// What every session needs from the daemon's configuration. Outlives all sessions.
struct SessionConfig {
  const transport::Secret* secret = nullptr;  // null: --insecure-no-auth
  std::string session_binary;
  std::string bind_ip;
  std::vector<std::string> plugin_dirs;
  double proof_timeout_s = 5.0;
  ManifestPolicy policy;
};

// A runner whose success reply reached the parent: from here on the daemon's reaper owns it,
// together with the slot it occupies.
struct OwnedRunner {
  RunnerProcess runner;
  SlotLease slot;
  uint64_t session_id = 0;
};

// Serves one connection; never throws. Returns the runner to keep when the session started and
// its reply was sent; on any failure the runner (if any) is already killed and reaped.
// `connection` numbers log lines.
std::optional<OwnedRunner> serve_session(transport::TcpSocket socket, uint64_t connection, const SessionConfig& config,
                                         SessionSlots& slots, SessionCancel& cancel);

// The plain (un-enveloped) BusyError the accept loop sends when no connection handler is free.
void refuse_busy_connection(transport::TcpSocket& socket) noexcept;

}  // namespace echelon::remote::daemon
