#include "session/feature_grant.h"

#include <fmt/format.h>

#include "session/startup_failure.h"
#include "wire/hello.h"

namespace echelon::session {

namespace {

const char* feature_name(uint64_t bit) {
  switch (bit) {
    case wire::FEATURE_AUTH_HMAC_SHA256: return "FEATURE_AUTH_HMAC_SHA256";
    case wire::FEATURE_PIPELINED_TASKS: return "FEATURE_PIPELINED_TASKS";
    case wire::FEATURE_PYTHON_IMPORT: return "FEATURE_PYTHON_IMPORT";
    case wire::FEATURE_PYTHON_SERIALIZED: return "FEATURE_PYTHON_SERIALIZED";
    case wire::FEATURE_STAGED_BLOB: return "FEATURE_STAGED_BLOB";
    case wire::FEATURE_GLOBAL_COMM_DOMAIN: return "FEATURE_GLOBAL_COMM_DOMAIN";
    default: return "an unknown feature bit";
  }
}

}  // namespace

uint64_t supported_features(bool has_session_key) { return has_session_key ? wire::FEATURE_AUTH_HMAC_SHA256 : 0; }

uint64_t grant_features(const remote::BootstrapManifest& manifest, bool has_session_key) {
  const uint64_t supported = supported_features(has_session_key);
  const uint64_t missing = manifest.required_features & ~supported;
  if (missing != 0) {
    const uint64_t lowest = missing & (~missing + 1);
    fail_startup("feature negotiation", fmt::format("required feature {} not supported", feature_name(lowest)));
  }
  if (has_session_key && (manifest.required_features & wire::FEATURE_AUTH_HMAC_SHA256) == 0)
    fail_startup("feature negotiation",
                 "the session is authenticated but FEATURE_AUTH_HMAC_SHA256 is not required (no downgrade)");
  return manifest.requested_features & supported;
}

}  // namespace echelon::session
