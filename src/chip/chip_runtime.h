// What a chip child runs: its LOCAL_CHIP registry of loaded kernels, keyed by callable digest,
// and dispatch of a task to one of them (runtime.md RT-706, callables.md 9.2).
#pragma once

#include <map>
#include <span>
#include <string>

#include "chip/kernel_call.h"
#include "chip/kernel_image.h"
#include "chip/private_dir.h"
#include "echelon/callable.h"

namespace echelon::chip {

class ChipRuntime {
 public:
  // Kernel files go into a fresh private directory named `<dir_prefix>XXXXXX`.
  explicit ChipRuntime(const std::string& dir_prefix = DEFAULT_PRIVATE_DIR_PREFIX);

  // Verifies and loads `blob` under `callable_digest`: load_kernel's checks, then the descriptor
  // this host rebuilds from the blob (local_chip_descriptor) must hash to `callable_digest`.
  // Installing an installed digest again with the same blob is a no-op; with another blob it
  // throws.
  // Throws ChipError naming the failed check; nothing is installed then.
  const LoadedKernel& install(const Digest& callable_digest, std::span<const uint8_t> blob,
                              const Digest& blob_sha256);
  // Unloads the kernel and deletes its file; false when the digest is not installed.
  bool uninstall(const Digest& callable_digest);
  const LoadedKernel* find(const Digest& callable_digest) const;
  size_t size() const { return kernels_.size(); }
  const std::string& private_dir() const { return dir_.path(); }

  // Runs the kernel installed under `callable_digest`; an unknown digest is a failure naming it.
  KernelOutcome run(const Digest& callable_digest, std::span<const Tensor> tensors,
                    std::span<const uint64_t> scalars, const CallConfig& config,
                    const AddressResolver& resolve = tensor_data_address) const;

 private:
  // Declared first so it outlives (is destroyed after) the kernels whose files it holds.
  PrivateDir dir_;
  std::map<Digest, LoadedKernel> kernels_;
};

}  // namespace echelon::chip
