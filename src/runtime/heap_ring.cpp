#include "runtime/heap_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

HeapRing::HeapRing(uint64_t capacity) : capacity_(capacity) {
  void* p = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw Error(fmt::format("heap ring: mmap of {} bytes failed: {}", capacity, std::strerror(errno)));
  base_ = static_cast<std::byte*>(p);
}

HeapRing::~HeapRing() {
  if (base_) munmap(base_, capacity_);
}

std::optional<uint64_t> HeapRing::allocate(uint64_t bytes) {
  const uint64_t need = (bytes + HEAP_ALIGN - 1) / HEAP_ALIGN * HEAP_ALIGN;
  if (need == 0 || need > capacity_) return std::nullopt;
  if (slabs_.empty()) head_ = tail_ = 0;
  uint64_t offset;
  uint64_t charged = need;
  if (slabs_.empty() || tail_ > head_ || (tail_ == head_ && used_ == 0)) {
    // Free space is [tail, capacity) then [0, head).
    if (capacity_ - tail_ >= need) {
      offset = tail_;
    } else if (head_ >= need) {
      charged += capacity_ - tail_;  // the skipped end belongs to this slab until it is freed
      offset = 0;
    } else {
      return std::nullopt;
    }
  } else {
    // Wrapped: free space is [tail, head).
    if (head_ - tail_ < need) return std::nullopt;
    offset = tail_;
  }
  slabs_.push_back({offset, charged, false});
  tail_ = offset + need;
  if (tail_ == capacity_) tail_ = 0;
  used_ += charged;
  return offset;
}

void HeapRing::release(uint64_t offset) {
  for (auto& s : slabs_) {
    if (s.offset == offset && !s.freed) {
      s.freed = true;
      break;
    }
  }
  while (!slabs_.empty() && slabs_.front().freed) {
    const Slab s = slabs_.front();
    slabs_.pop_front();
    used_ -= s.bytes;
    head_ = slabs_.empty() ? tail_ : slabs_.front().offset;
  }
}

}  // namespace echelon
