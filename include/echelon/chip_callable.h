// A CHIP_CALLABLE for the simulated chip: the bytes of a kernel shared object plus the canonical
// descriptor that names it (callables.md 2.2, 9.2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "echelon/callable.h"
#include "echelon/errors.h"

namespace echelon {

// A chip kernel could not be loaded or bound, or the device arena refused a request. The message
// names the check that failed.
class ChipError : public Error {
 public:
  using Error::Error;
};

// Descriptor context of the simulated chip (callables.md 2.2, echelon adaptation).
inline constexpr const char* CHIP_PLATFORM = "sim";
inline constexpr const char* CHIP_RUNTIME = "simchip";

class ChipCallable {
 public:
  // Reads the kernel shared object at `path`. Throws ChipError when the file cannot be read or
  // is not a loadable kernel for this host.
  static ChipCallable from_file(const std::string& path);
  // Takes the blob bytes. The signature is read by loading a private copy of the blob in this
  // process, so every load check of the chip applies here too.
  static ChipCallable from_bytes(std::vector<uint8_t> blob);

  const std::vector<uint8_t>& blob() const { return blob_; }
  const Digest& blob_sha256() const { return blob_sha256_; }
  const std::vector<ArgDirection>& signature() const { return signature_; }
  const std::vector<uint8_t>& descriptor() const { return descriptor_; }
  // {sha256(descriptor), CHIP_CALLABLE, LOCAL_CHIP}.
  const CallableIdentity& identity() const { return identity_; }
  std::string hashid() const { return identity_.hashid(); }

 private:
  ChipCallable() = default;
  std::vector<uint8_t> blob_;
  Digest blob_sha256_{};
  std::vector<ArgDirection> signature_;
  std::vector<uint8_t> descriptor_;
  CallableIdentity identity_;
};

// The machine name the kernel reports (`uname -m`), used as the descriptor's target_arch.
std::string host_target_arch();

// The CHIP_CALLABLE descriptor this host builds for a blob with the given signature hash.
std::vector<uint8_t> local_chip_descriptor(const Digest& blob_sha256, const Digest& signature_schema_hash);

}  // namespace echelon
