// The host_tcp same-host token (buffers.md 9.2): the first 16 bytes of SHA-256 over this host's
// boot id. Two runners may share a POSIX shared-memory object only when their tokens are equal:
// the boot id differs between machines (and between boots), while containers of one kernel that
// see the same /dev/shm share it.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace echelon::session {

using HostToken = std::array<uint8_t, 16>;

// SHA-256 over the boot id text with its trailing newline removed (the UUID as the kernel prints
// it), truncated to 16 bytes.
HostToken host_token_of_boot_id(std::string_view boot_id);

// Reads /proc/sys/kernel/random/boot_id; throws echelon::Error naming the file when it cannot.
HostToken local_host_token();

// Test hook (buffers.md 9.3 "Testing"; only in builds with ECHELON_TEST_HOOKS): with
// ECHELON_TEST_FOREIGN_HOST_TOKEN=1 in the runner's environment every peer's host token counts as
// foreign, which forces the ucx cross-host (RMA) import path on one host. Read once; the first
// call logs a WARNING line to stderr when armed. Other values than "1" (or unset) leave it off.
bool foreign_host_token_hook();

}  // namespace echelon::session
