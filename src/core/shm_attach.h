// Resolving POSIX_SHM backings to addresses in this process: the creator registers its own mapping;
// any other process (a forked child) maps the named object on first use and keeps it cached by
// identity. The object's real size is checked against the descriptor before it is trusted.
#pragma once

#include <cstdint>

#include "echelon/buffer.h"

namespace echelon {

// Address of the first byte of a POSIX_SHM backing in this process; throws Error when the object
// is missing or smaller than the descriptor claims.
std::byte* attach_posix_shm(const BufferDescriptor& desc);
void register_posix_shm(const CanonicalIdentity& identity, std::byte* base, uint64_t bytes);
void forget_posix_shm(const CanonicalIdentity& identity);

}  // namespace echelon
