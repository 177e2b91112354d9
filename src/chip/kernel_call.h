// Binding a task's tensors and scalars to a loaded kernel and calling its entry (callables.md 9.2).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "chip/kernel_image.h"
#include "echelon/call_config.h"
#include "echelon/tensor.h"

namespace echelon::chip {

// What happened to one kernel call. A failure is a TASK failure: `message` says why (binding
// error naming the argument index, or the kernel's own error text).
struct KernelOutcome {
  bool ok = true;
  std::string message;
};

// Maps a tensor to the address of its first byte in this process (the view's start, i.e. backing
// base + byte_offset). May throw; the call then fails naming the tensor.
using AddressResolver = std::function<void*(const Tensor&)>;

// Tensor::data(): right for address-bearing backings mapped at the same address here
// (FORK_SHM, FORK_COW, DEVICE_MALLOC inside a fork-shared arena).
void* tensor_data_address(const Tensor& tensor);

// Checks the binding, then calls the kernel once on this thread. The kernel is not called when:
// tensor or scalar counts differ from the signature's non-SCALAR / SCALAR entries; tensor k's grant
// does not cover its direction (IN -> READ, OUT -> WRITE, INOUT -> READWRITE); a tensor fails
// validation or address resolution; `config` fails validation. A non-zero return yields the
// kernel's error text, or "kernel returned <n>" when it wrote none.
KernelOutcome run_kernel(const LoadedKernel& kernel, std::span<const Tensor> tensors,
                         std::span<const uint64_t> scalars, const CallConfig& config,
                         const AddressResolver& resolve = tensor_data_address);

}  // namespace echelon::chip
