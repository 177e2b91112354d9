#include "chip/elf_check.h"

#include <elf.h>
#include <fmt/format.h>
#include <link.h>

#include <cstring>

#include "echelon/chip_callable.h"

// The linker defines this for every ELF module: the loaded header of the module it is linked
// into, so the host's class and machine come from the running binary itself.
extern "C" const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

namespace echelon::chip {

namespace {

std::string machine_name(uint16_t machine) {
  switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_AARCH64: return "AArch64";
    case EM_ARM: return "ARM";
    case EM_RISCV: return "RISC-V";
    case EM_PPC64: return "PowerPC64";
    case EM_S390: return "s390";
    default: return fmt::format("machine {}", machine);
  }
}

const char* class_name(uint8_t cls) {
  return cls == ELFCLASS64 ? "ELFCLASS64" : cls == ELFCLASS32 ? "ELFCLASS32" : "an unknown ELF class";
}

}  // namespace

void check_elf_matches_host(std::span<const uint8_t> blob) {
  const ElfW(Ehdr)& host = __ehdr_start;
  if (blob.size() < SELFMAG || std::memcmp(blob.data(), ELFMAG, SELFMAG) != 0) {
    std::string head;
    for (size_t i = 0; i < blob.size() && i < SELFMAG; ++i) head += fmt::format("{}{:02x}", i ? " " : "", blob[i]);
    throw ChipError(fmt::format("kernel blob is not an ELF file: first bytes are [{}], expected [7f 45 4c 46]", head));
  }
  if (blob.size() < EI_NIDENT) throw ChipError(fmt::format("kernel blob is {} bytes, too short for an ELF ident", blob.size()));
  const uint8_t cls = blob[EI_CLASS];
  if (cls != host.e_ident[EI_CLASS])
    throw ChipError(fmt::format("kernel blob is {} but this host is {}", class_name(cls), class_name(host.e_ident[EI_CLASS])));
  if (blob[EI_DATA] != host.e_ident[EI_DATA])
    throw ChipError(fmt::format("kernel blob byte order (EI_DATA {}) differs from this host's (EI_DATA {})",
                                blob[EI_DATA], host.e_ident[EI_DATA]));
  // Class and byte order match the host, so the header has the host's layout.
  ElfW(Ehdr) header;
  if (blob.size() < sizeof header)
    throw ChipError(fmt::format("kernel blob is {} bytes, too short for a {}-byte ELF header", blob.size(), sizeof header));
  std::memcpy(&header, blob.data(), sizeof header);
  if (header.e_machine != host.e_machine)
    throw ChipError(fmt::format("kernel blob is built for {} but this host is {}", machine_name(header.e_machine),
                                machine_name(host.e_machine)));
  if (header.e_type != ET_DYN)
    throw ChipError(fmt::format("kernel blob has ELF type {}, expected a shared object (ET_DYN)", header.e_type));
}

}  // namespace echelon::chip
