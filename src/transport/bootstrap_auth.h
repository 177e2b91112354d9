// The authenticated bootstrap of protocol.md 15.3: the daemon's challenge, the parent's MAC'd
// request around the manifest, and the daemon's MAC'd reply, each an "ECB1" envelope carried as
// one bootstrap message (bootstrap_message.h). The seal/open functions are pure; the exchange
// functions run one side of the conversation on a connected socket within a deadline.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "transport/auth.h"
#include "transport/deadline.h"
#include "transport/tcp_socket.h"

namespace echelon::transport {

inline constexpr uint32_t BOOTSTRAP_AUTH_VERSION = 1;
// The plain reply a daemon sends before closing a connection that failed its proof.
inline constexpr std::string_view AUTH_FAILED_REPLY = R"({"ok": false, "error": "AuthError: authentication failed"})";

// True when `message` starts with the "ECB1" magic (how a parent without a secret recognises a
// daemon that requires authentication).
bool is_auth_envelope(std::span<const uint8_t> message) noexcept;

std::vector<uint8_t> encode_bootstrap_challenge(const Nonce& daemon_nonce);
Nonce decode_bootstrap_challenge(std::span<const uint8_t> message);  // AuthError if malformed

std::vector<uint8_t> seal_bootstrap_request(const Secret& secret, const Nonce& daemon_nonce, const Nonce& client_nonce,
                                            std::span<const uint8_t> manifest);
struct OpenedRequest {
  Nonce client_nonce{};
  std::vector<uint8_t> manifest;
};
// Checks the envelope and the MAC before the manifest is handed out; AuthError(AUTH_FAILED).
OpenedRequest open_bootstrap_request(const Secret& secret, const Nonce& daemon_nonce, std::span<const uint8_t> message);

std::vector<uint8_t> seal_bootstrap_reply(const Secret& secret, const Nonce& client_nonce, const Nonce& daemon_nonce,
                                          std::span<const uint8_t> reply);
std::vector<uint8_t> open_bootstrap_reply(const Secret& secret, const Nonce& client_nonce, const Nonce& daemon_nonce,
                                          std::span<const uint8_t> message);

// Both nonces of one bootstrap connection: with the session id and worker id from the manifest
// they give the session key (derive_session_key).
struct BootstrapNonces {
  Nonce daemon_nonce{};
  Nonce client_nonce{};
};

// Daemon side, steps 1-2: send a fresh challenge, read the request (bounded by `proof_deadline`),
// verify it. On any failure it sends AUTH_FAILED_REPLY (best effort) and throws AuthError (or
// TransportError when the connection itself broke); the caller closes and keeps serving.
struct AdmittedRequest {
  BootstrapNonces nonces;
  std::vector<uint8_t> manifest;
};
AdmittedRequest daemon_admit_bootstrap(TcpSocket& socket, const Secret& secret, Deadline proof_deadline);
// Daemon side, step 3: the MAC'd reply.
void daemon_send_bootstrap_reply(TcpSocket& socket, const Secret& secret, const BootstrapNonces& nonces,
                                 std::span<const uint8_t> reply, Deadline deadline);

// Parent side, the whole exchange: wait for the challenge (until `challenge_deadline`: 5 s or
// less, 15.3), send the sealed manifest, read and verify the reply (until `deadline`). Returns the
// reply JSON bytes; `nonces` receives both nonces.
std::vector<uint8_t> client_bootstrap_exchange(TcpSocket& socket, const Secret& secret,
                                               std::span<const uint8_t> manifest, Deadline challenge_deadline,
                                               Deadline deadline, BootstrapNonces& nonces);

}  // namespace echelon::transport
