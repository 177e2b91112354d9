// An anonymous MAP_SHARED mapping: made before fork, it is the same memory at the same address in
// the parent and every child forked after it.
#pragma once

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "echelon/errors.h"

namespace echelon {

class SharedMapping {
 public:
  SharedMapping() = default;
  explicit SharedMapping(size_t bytes, const char* what) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw Error(std::string(what) + ": mmap of " + std::to_string(bytes) + " shared bytes failed: " + std::strerror(errno));
    base_ = p;
  }
  ~SharedMapping() {
    if (base_) munmap(base_, bytes_);
  }
  SharedMapping(SharedMapping&& o) noexcept : base_(std::exchange(o.base_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  SharedMapping& operator=(SharedMapping&& o) noexcept {
    if (this != &o) {
      if (base_) munmap(base_, bytes_);
      base_ = std::exchange(o.base_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;

  void* data() const { return base_; }
  size_t size() const { return bytes_; }
  template <typename T>
  T* as() const { return static_cast<T*>(base_); }

 private:
  void* base_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace echelon
