// Cheap structural checks on a kernel blob before it is written or loaded, so a blob for another
// ISA is refused with a clear message instead of a loader error.
#pragma once

#include <cstdint>
#include <span>

namespace echelon::chip {

// Throws ChipError unless `blob` starts with an ELF header of a shared object whose class, byte
// order and machine match the running process.
void check_elf_matches_host(std::span<const uint8_t> blob);

}  // namespace echelon::chip
