// The registration entries of a manifest (callables.md 8): per-entry schema, the target/kind
// matrix of RT-1002, and the context-free identity checks the runner would repeat anyway
// (hashid = SHA-256 of the descriptor; chip payload decodes, is INLINE_BLOB, blob hash matches).
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "remote/manifest.h"

namespace echelon::remote {

// Parses one list (`path` = "manifest.inner_l3_worker"), rejecting duplicate hashids.
std::vector<ManifestEntry> parse_manifest_entries(const nlohmann::json& list, const std::string& path,
                                                  ManifestRegistry registry);

nlohmann::json entry_to_json(const ManifestEntry& entry, ManifestRegistry registry);

}  // namespace echelon::remote
