// Host memory that tasks may read and write without copies: a named POSIX shared-memory object
// (POSIX_SHM, RT-202). Child processes map it by name on first use, so it works the same whether
// it was made before or after their Worker forked them. The object is unlinked when the
// HostBuffer that created it goes; a HostBuffer that only opened an existing object (open_named)
// unmaps it and leaves the name to its creator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "echelon/buffer.h"
#include "echelon/errors.h"
#include "echelon/tensor.h"

namespace echelon {

// A shared-memory object could not be created, sized, reserved, opened or mapped. `sys_errno` is
// the errno of the failing call (0 when the failure was a check, e.g. a bad name), so callers can
// tell "no such object" (ENOENT) or "no space" (ENOSPC) from other failures.
class HostBufferError : public Error {
 public:
  HostBufferError(const std::string& what, int sys_errno) : Error(what), sys_errno_(sys_errno) {}
  int sys_errno() const { return sys_errno_; }

 private:
  int sys_errno_;
};

class HostBuffer {
 public:
  HostBuffer() = default;
  // Maps `nbytes` (> 0) of zeroed shared memory under a process-unique name; throws
  // HostBufferError on failure.
  explicit HostBuffer(uint64_t nbytes, AccessMode access = AccessMode::READWRITE);
  // Creates the object `name` ("/" + a body of at most DESC_MAX_BYTES printable bytes without
  // '/') with O_CREAT | O_EXCL, mode 0600, sizes it with ftruncate and reserves its pages with
  // posix_fallocate, so a full /dev/shm fails here (ENOSPC) instead of raising SIGBUS on the first
  // touch. Zero-filled; unlinked when the HostBuffer goes.
  static HostBuffer create_named(std::string_view name, uint64_t nbytes, AccessMode access = AccessMode::READWRITE);
  // Maps the first `nbytes` of an existing object `name` (same name rules) created by someone
  // else; the object must be at least that large. Mapped writable only when `access` grants
  // write. Never unlinks the name.
  static HostBuffer open_named(std::string_view name, uint64_t nbytes, AccessMode access);

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
  // The POSIX name, with its leading '/' ("" for a default-constructed or moved-from buffer).
  const char* shm_name() const { return name_; }

  // A row-major view at `byte_offset`.
  Tensor view(uint64_t byte_offset, std::initializer_list<uint32_t> shape, DataType dtype) const {
    return Tensor::view(desc_, byte_offset, shape, dtype);
  }

 private:
  enum class Reserve { NO, YES };
  void create(std::string_view name, uint64_t nbytes, AccessMode access, Reserve reserve);
  void open(std::string_view name, uint64_t nbytes, AccessMode access);
  void adopt(void* base, uint64_t nbytes, AccessMode access, bool owns_name);
  void release() noexcept;
  void* base_ = nullptr;
  size_t mapped_ = 0;
  bool owns_name_ = false;  // created here: unlink on release
  BufferDescriptor desc_{};
  char name_[DESC_MAX_BYTES + 2]{};  // "/" + body
};

}  // namespace echelon
