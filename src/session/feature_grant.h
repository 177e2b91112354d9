// Feature negotiation on the runner (protocol.md 15.1): the HELLO answers requested ∩ supported.
// Startup fails instead when a required bit is unsupported, or when the runner holds a session key
// but authentication is not required (no downgrade).
#pragma once
#include <cstdint>
#include "remote/manifest.h"

namespace echelon::session {

// What this runner build implements: authentication, and only when it was handed a key.
uint64_t supported_features(bool has_session_key);

// The granted set for HELLO.feature_flags; StartupFailure (StartupError) on a refusal.
uint64_t grant_features(const remote::BootstrapManifest& manifest, bool has_session_key);

}  // namespace echelon::session
