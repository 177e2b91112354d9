// Names of the POSIX shared-memory objects a runner creates (buffers.md 5, echelon):
//   /es<session_id as 16 lowercase hex>_<k><counter in lowercase hex>
// with k = 'b' for owner allocations (counter = buffer_id) and 'i' for per-task inline buffers.
// Counters stop at 12 hex digits so a name without its '/' stays within the 32-byte POSIX_SHM body
// of a local BufferDescriptor, and leak checks find a session's objects by "es<session hex>_".
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace echelon::remote {

inline constexpr uint64_t MAX_SHM_COUNTER = 0xFFFF'FFFF'FFFFull;  // 12 hex digits

enum class ShmKind : char { OWNER = 'b', INLINE = 'i' };

// "es<16 hex>_" (no leading '/'): what every object of the session starts with in /dev/shm.
std::string session_shm_prefix(uint64_t session_id);
// "/es<16 hex>_<k><hex>"; throws std::out_of_range for a counter of 0 or above MAX_SHM_COUNTER.
std::string session_shm_name(uint64_t session_id, ShmKind kind, uint64_t counter);

struct ParsedShmName {
  uint64_t session_id = 0;
  ShmKind kind = ShmKind::OWNER;
  uint64_t counter = 0;
};
// The inverse of session_shm_name; nullopt for anything not of exactly that form (upper-case hex,
// leading zeros in the counter, a missing '/', trailing bytes...).
std::optional<ParsedShmName> parse_session_shm_name(std::string_view name);

// Unlinks every object of `session_id` still in /dev/shm and returns how many there were. The
// daemon calls it after reaping a runner: a runner killed by a signal cannot clean up after
// itself, and the names are the session's alone. Mappings that still exist stay valid.
size_t sweep_session_shm(uint64_t session_id);
// "echelon-s<16 hex>-": the name of a session runner's private directory before mkdtemp's suffix.
std::string session_private_dir_prefix(uint64_t session_id);
// The runner's private directory ("echelon-s<16 hex>-XXXXXX" under ${TMPDIR:-/tmp}) with everything
// in it - its children's scratch directories included, since the runner points their TMPDIR there.
// Returns how many directories were removed.
size_t sweep_session_private_dir(uint64_t session_id);

}  // namespace echelon::remote
