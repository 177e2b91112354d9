// Strided tensor views over a backing (runtime.md RT-203/204).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "echelon/buffer.h"
#include "echelon/data_type.h"

namespace echelon {

inline constexpr uint32_t MAX_TENSOR_DIMS = 5;

struct Tensor {
  BufferDescriptor buffer;  // magic 0 = unbound (legal only as a local OUTPUT, RT-204)
  uint64_t byte_offset = 0;
  uint32_t ndims = 0;
  uint32_t shapes[MAX_TENSOR_DIMS]{};
  uint32_t strides[MAX_TENSOR_DIMS]{};  // in elements
  DataType dtype = DataType::FLOAT32;
  uint8_t pad_[3]{};

  // A view of `buffer` at `byte_offset`. Empty `strides` means row-major. Validates (throws
  // ValidationError naming the field).
  static Tensor view(const BufferDescriptor& buffer, uint64_t byte_offset,
                     std::span<const uint32_t> shape, DataType dtype,
                     std::span<const uint32_t> strides = {});
  static Tensor view(const BufferDescriptor& buffer, uint64_t byte_offset,
                     std::initializer_list<uint32_t> shape, DataType dtype) {
    return view(buffer, byte_offset, std::span<const uint32_t>(shape.begin(), shape.size()), dtype);
  }
  // An unbound row-major tensor, to be materialised by the Orchestrator as a local OUTPUT.
  static Tensor unbound(std::span<const uint32_t> shape, DataType dtype);
  static Tensor unbound(std::initializer_list<uint32_t> shape, DataType dtype) {
    return unbound(std::span<const uint32_t>(shape.begin(), shape.size()), dtype);
  }

  bool bound() const { return buffer.bound(); }
  uint64_t numel() const;
  // (Σ(shape_i−1)·stride_i + 1) · element_size, saturating at UINT64_MAX.
  uint64_t extent_bytes() const;
  bool is_contiguous() const;  // row-major strides and extent == numel * element size

  // Validates geometry only (works for unbound tensors too).
  void validate_geometry() const;
  // Full validation: geometry, descriptor, and that the view fits in the backing.
  void validate() const;

  // Local address of the first byte of the view in this process: address-bearing backings give
  // their base; a POSIX_SHM backing is mapped by name on first use. Throws for remote backings.
  std::byte* data() const;
  template <typename T>
  T* data_as() const { return reinterpret_cast<T*>(data()); }

  std::string describe() const;  // short human-readable form for error messages

  friend bool operator==(const Tensor& a, const Tensor& b);
};
static_assert(sizeof(Tensor) == 144);
static_assert(offsetof(Tensor, byte_offset) == 88);
static_assert(offsetof(Tensor, ndims) == 96);
static_assert(offsetof(Tensor, shapes) == 100);
static_assert(offsetof(Tensor, strides) == 120);
static_assert(offsetof(Tensor, dtype) == 140);
static_assert(std::is_trivially_copyable_v<Tensor>);

}  // namespace echelon
