// Host memory that tasks may read and write without copies: a named POSIX shared-memory object
// (POSIX_SHM, RT-202). Child processes map it by name on first use, so it works the same whether
// it was made before or after their Worker forked them. The object is unlinked when the
// HostBuffer goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "echelon/buffer.h"
#include "echelon/tensor.h"

namespace echelon {

class HostBuffer {
 public:
  HostBuffer() = default;
  // Maps `nbytes` (> 0) of zeroed shared memory; throws Error on failure.
  explicit HostBuffer(uint64_t nbytes, AccessMode access = AccessMode::READWRITE);
  ~HostBuffer();
  HostBuffer(HostBuffer&& other) noexcept;
  HostBuffer& operator=(HostBuffer&& other) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  const BufferDescriptor& descriptor() const { return desc_; }
  std::byte* data() const { return static_cast<std::byte*>(base_); }
  template <typename T>
  T* data_as() const { return static_cast<T*>(base_); }
  uint64_t size() const { return desc_.nbytes; }

  // A row-major view at `byte_offset`.
  Tensor view(uint64_t byte_offset, std::initializer_list<uint32_t> shape, DataType dtype) const {
    return Tensor::view(desc_, byte_offset, shape, dtype);
  }

 private:
  void release() noexcept;
  void* base_ = nullptr;
  size_t mapped_ = 0;
  BufferDescriptor desc_{};
  char name_[DESC_MAX_BYTES + 2]{};  // "/" + body
};

}  // namespace echelon
