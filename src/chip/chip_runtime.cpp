#include "chip/chip_runtime.h"

#include <fmt/format.h>

#include "echelon/chip_callable.h"

namespace echelon::chip {

ChipRuntime::ChipRuntime(const std::string& dir_prefix) : dir_(dir_prefix) {}

const LoadedKernel& ChipRuntime::install(const Digest& callable_digest, std::span<const uint8_t> blob,
                                         const Digest& blob_sha256) {
  if (const LoadedKernel* existing = find(callable_digest)) {
    // A digest names one blob forever; a different blob under it is refused, not ignored.
    if (sha256(blob) != existing->blob_sha256())
      throw ChipError(fmt::format("chip callable {} is installed with blob {}; refusing a different blob under it",
                                  to_hashid(callable_digest), to_hashid(existing->blob_sha256())));
    return *existing;
  }
  LoadedKernel kernel = load_kernel(blob, blob_sha256, dir_.path());
  const Digest rebuilt = sha256(local_chip_descriptor(kernel.blob_sha256(), kernel.signature_hash()));
  if (rebuilt != callable_digest)
    throw ChipError(fmt::format("chip callable {}: the descriptor this chip rebuilds from the blob hashes to {} "
                                "(different ISA, platform, runtime or signature)",
                                to_hashid(callable_digest), to_hashid(rebuilt)));
  return kernels_.emplace(callable_digest, std::move(kernel)).first->second;
}

bool ChipRuntime::uninstall(const Digest& callable_digest) { return kernels_.erase(callable_digest) > 0; }

const LoadedKernel* ChipRuntime::find(const Digest& callable_digest) const {
  const auto it = kernels_.find(callable_digest);
  return it == kernels_.end() ? nullptr : &it->second;
}

KernelOutcome ChipRuntime::run(const Digest& callable_digest, std::span<const Tensor> tensors,
                               std::span<const uint64_t> scalars, const CallConfig& config,
                               const AddressResolver& resolve) const {
  const LoadedKernel* kernel = find(callable_digest);
  if (kernel == nullptr)
    return {false, fmt::format("unknown chip callable {}: not installed on this chip", to_hashid(callable_digest))};
  return run_kernel(*kernel, tensors, scalars, config, resolve);
}

}  // namespace echelon::chip
