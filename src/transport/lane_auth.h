// The command-lane HELLO proofs of protocol.md 15.3. Both proofs are keyed with the per-session
// key and bound to a fresh nonce of this connection, so a HELLO recorded on an earlier connection
// fails against the next one (the runner's nonce differs). The health-lane proof is in auth.h.
#pragma once

#include "transport/auth.h"
#include "wire/hello.h"

namespace echelon::transport {

// Runner: gives `hello` a fresh auth_nonce and the matching auth_mac over
// "echelon/v1/hello-runner" || payload bytes up to and including the nonce. The HELLO must
// negotiate FEATURE_AUTH_HMAC_SHA256 (so it has its extension block).
void sign_runner_hello(wire::HelloPayload& hello, const Secret& session_key);
// Parent: AuthError(AUTH_FAILED) unless the runner's auth_mac is right.
void verify_runner_hello(const wire::HelloPayload& runner_hello, const Secret& session_key);

// Parent: its answer - every field copied from the runner's HELLO, ready_state READY, a fresh
// nonce, and auth_mac over "echelon/v1/hello-parent" || runner_nonce || its own bytes up to its nonce.
wire::HelloPayload make_parent_hello(const wire::HelloPayload& runner_hello, const Secret& session_key);
// Runner: AuthError(AUTH_FAILED) unless the copied fields match and the MAC is right.
void verify_parent_hello(const wire::HelloPayload& parent_hello, const wire::HelloPayload& runner_hello,
                         const Secret& session_key);

}  // namespace echelon::transport
