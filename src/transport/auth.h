// Cryptographic building blocks of protocol.md 15.3 (HMAC-SHA256 with OpenSSL): nonces, MACs,
// the per-session key and the health-lane proof, plus the admission policy of a daemon. The
// bootstrap envelopes are in bootstrap_auth.h, the HELLO proofs in lane_auth.h.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "echelon/errors.h"
#include "transport/endpoint_address.h"
#include "transport/secret.h"

namespace echelon::transport {

// An authentication refusal. what() is what may be shown to the peer: for a failed proof always
// the generic "authentication failed" (the response never says which check failed); reason()
// says which one, for the local log only. Neither ever contains key material.
class AuthError : public Error {
 public:
  explicit AuthError(const std::string& message, std::string reason = {})
      : Error(message), reason_(reason.empty() ? message : std::move(reason)) {}
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

inline constexpr const char* AUTH_FAILED = "authentication failed";
[[noreturn]] void fail_authentication(std::string reason);

using Nonce = std::array<uint8_t, 32>;
using Mac = std::array<uint8_t, 32>;
using Digest = std::array<uint8_t, 32>;

// 32 bytes from OpenSSL's CSPRNG (RAND_bytes); throws if the generator fails.
Nonce random_nonce();
// A session id as protocol.md 2 requires: CSPRNG, 63 bits (top bit clear), never 0.
uint64_t random_session_id();

Digest sha256(std::span<const uint8_t> bytes);
// HMAC-SHA256(key, part1 || part2 || ...).
Mac hmac_sha256(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> parts);
// Constant-time comparison (CRYPTO_memcmp); the only way MACs are compared in this library.
bool macs_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept;
// The ASCII bytes of a domain-separation label, without terminator.
std::span<const uint8_t> label_bytes(std::string_view label) noexcept;

// session key = HMAC(secret, "echelon/v1/session-key" || daemon_nonce || client_nonce
//                            || u64le(session_id) || i32le(worker_id))
Secret derive_session_key(const Secret& secret, const Nonce& daemon_nonce, const Nonce& client_nonce,
                          uint64_t session_id, int32_t worker_id);
// HMAC(session key, "echelon/v1/health" || runner_nonce): the parent's answer on the health lane.
Mac health_proof(const Secret& session_key, const Nonce& runner_nonce);
// AuthError(AUTH_FAILED) unless `proof` is exactly health_proof(session_key, runner_nonce).
void verify_health_proof(const Secret& session_key, const Nonce& runner_nonce, std::span<const uint8_t> proof);

// The daemon's start-up rule (15.3 Policy, WIRE-35): without a secret it refuses to start unless
// `insecure_no_auth`, and even then only on a loopback listen address. Throws AuthError.
void check_daemon_auth_policy(const EndpointAddress& listen, bool has_secret, bool insecure_no_auth);

}  // namespace echelon::transport
