// One heap ring: a MAP_SHARED|MAP_NORESERVE region carved FIFO into 1024-aligned slabs. A release
// behind a live predecessor frees nothing until the predecessor goes (RT-306).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace echelon {

inline constexpr uint64_t HEAP_ALIGN = 1024;
inline constexpr int MAX_RING_DEPTH = 4;

class HeapRing {
 public:
  explicit HeapRing(uint64_t capacity);  // maps the region now (before any fork)
  ~HeapRing();
  HeapRing(const HeapRing&) = delete;
  HeapRing& operator=(const HeapRing&) = delete;

  uint64_t capacity() const { return capacity_; }
  std::byte* base() const { return base_; }
  uint64_t used() const { return used_; }

  // Offset of a fresh slab of round_up(bytes, HEAP_ALIGN) bytes, or nullopt when full now.
  std::optional<uint64_t> allocate(uint64_t bytes);
  // Marks the slab at `offset` free and reclaims every freed slab at the FIFO head.
  void release(uint64_t offset);

 private:
  struct Slab {
    uint64_t offset;
    uint64_t bytes;  // includes any wrap-around padding charged to this slab
    bool freed;
  };
  std::byte* base_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t head_ = 0;  // oldest live byte
  uint64_t tail_ = 0;  // next free byte
  uint64_t used_ = 0;
  std::deque<Slab> slabs_;
};

}  // namespace echelon
