#include "chip/kernel_call.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "echelon/errors.h"

namespace echelon::chip {

namespace {

const char* direction_name(ArgDirection d) {
  switch (d) {
    case ArgDirection::SCALAR: return "SCALAR";
    case ArgDirection::IN: return "IN";
    case ArgDirection::OUT: return "OUT";
    case ArgDirection::INOUT: return "INOUT";
  }
  return "INVALID";
}

AccessMode required_grant(ArgDirection d) {
  return d == ArgDirection::IN ? AccessMode::READ : d == ArgDirection::OUT ? AccessMode::WRITE : AccessMode::READWRITE;
}

bool grant_covers(AccessMode grant, ArgDirection d) {
  const bool needs_read = d == ArgDirection::IN || d == ArgDirection::INOUT;
  const bool needs_write = d == ArgDirection::OUT || d == ArgDirection::INOUT;
  return (!needs_read || grants_read(grant)) && (!needs_write || grants_write(grant));
}

KernelOutcome failure(std::string message) { return {false, std::move(message)}; }

echelon_chip_tensor_t to_abi(const Tensor& t, void* data) {
  echelon_chip_tensor_t out{};
  out.data = data;
  out.extent = t.extent_bytes();
  out.ndims = t.ndims;
  out.dtype = static_cast<uint32_t>(t.dtype);
  std::memcpy(out.shapes, t.shapes, sizeof out.shapes);
  std::memcpy(out.strides, t.strides, sizeof out.strides);
  return out;
}

// The kernel may fill the whole buffer without a terminator; then the text is cut back to a UTF-8
// boundary so a partial character never reaches the task's error.
std::string kernel_error_text(const char* buffer, int32_t rc) {
  const size_t len = strnlen(buffer, ECHELON_CHIP_ERROR_CAPACITY);
  std::string text = len == ECHELON_CHIP_ERROR_CAPACITY
                         ? truncate_utf8(std::string_view(buffer, len), ECHELON_CHIP_ERROR_CAPACITY - 1)
                         : std::string(buffer, len);
  return text.empty() ? fmt::format("kernel returned {}", rc) : text;
}

}  // namespace

void* tensor_data_address(const Tensor& tensor) { return tensor.data(); }

KernelOutcome run_kernel(const LoadedKernel& kernel, std::span<const Tensor> tensors,
                         std::span<const uint64_t> scalars, const CallConfig& config,
                         const AddressResolver& resolve) {
  std::vector<ArgDirection> tensor_directions;
  std::vector<size_t> tensor_entries;  // signature index of each tensor, for messages
  for (size_t i = 0; i < kernel.signature().size(); ++i) {
    if (kernel.signature()[i] == ArgDirection::SCALAR) continue;
    tensor_directions.push_back(kernel.signature()[i]);
    tensor_entries.push_back(i);
  }
  const size_t scalar_entries = kernel.signature().size() - tensor_directions.size();
  if (tensors.size() != tensor_directions.size() || scalars.size() != scalar_entries)
    return failure(fmt::format("chip kernel binding: the kernel signature takes {} tensors and {} scalars, the task "
                               "passed {} tensors and {} scalars",
                               tensor_directions.size(), scalar_entries, tensors.size(), scalars.size()));

  try {
    config.validate();
  } catch (const ValidationError& e) {
    return failure(fmt::format("chip kernel binding: call config: {}", e.what()));
  }

  std::vector<echelon_chip_tensor_t> abi_tensors(tensors.size());
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Tensor& t = tensors[k];
    const ArgDirection dir = tensor_directions[k];
    if (!t.bound()) return failure(fmt::format("chip kernel binding: tensor {} is unbound", k));
    if (!grant_covers(t.buffer.access, dir))
      return failure(fmt::format("chip kernel binding: tensor {} binds to signature entry {} ({}), which needs a {} "
                                 "grant, but the tensor grants {}",
                                 k, tensor_entries[k], direction_name(dir), to_string(required_grant(dir)),
                                 to_string(t.buffer.access)));
    void* data = nullptr;
    try {
      t.validate();
      data = resolve(t);
    } catch (const std::exception& e) {
      return failure(fmt::format("chip kernel binding: tensor {}: {}", k, e.what()));
    }
    if (data == nullptr) return failure(fmt::format("chip kernel binding: tensor {} ({}) resolved to no address", k, t.describe()));
    abi_tensors[k] = to_abi(t, data);
  }

  const echelon_chip_config_t abi_config{config.aicpu_thread_num, config.enable_chip_swimlane,
                                         config.enable_dump_args,  config.enable_pmu,
                                         config.enable_dep_gen,    config.enable_scope_stats,
                                         config.output_prefix};
  char error[ECHELON_CHIP_ERROR_CAPACITY] = {};
  const int32_t rc = kernel.entry()(abi_tensors.data(), static_cast<uint32_t>(abi_tensors.size()), scalars.data(),
                                    static_cast<uint32_t>(scalars.size()), &abi_config, error, sizeof error);
  if (rc == 0) return {};
  return failure(kernel_error_text(error, rc));
}

}  // namespace echelon::chip
