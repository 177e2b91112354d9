// Shared fixtures of the remote tests: a valid manifest to mutate, valid registration entries,
// and process/fd census helpers for "nothing was created" assertions.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace echelon::remote::test {

// A complete, valid host_tcp manifest with one entry in each list.
nlohmann::json valid_manifest_json();
// A valid dispatcher NATIVE_IMPORT entry for `target` (hashid computed from the descriptor).
nlohmann::json native_entry(const std::string& target);
// A valid inner CHIP_CALLABLE entry whose blob is `blob_bytes` long.
nlohmann::json chip_entry(size_t blob_bytes, unsigned char fill = 0x5a);

// Descriptors this process has open.
std::set<int> open_fds();
// True when this process has no child at all, reaped or not (waitpid reports ECHILD).
bool has_no_children();
// A unique path under the test temp dir (not created).
std::string temp_path(const std::string& stem);

}  // namespace echelon::remote::test
