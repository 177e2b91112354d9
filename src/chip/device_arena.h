// The simulated chip's device memory: one MAP_SHARED | MAP_ANONYMOUS region with a first-fit
// allocator handing out DEVICE_MALLOC backings (runtime.md RT-1004).
//
// Create the arena before forking the chip child: the mapping is then at the same address in the
// node (parent) and the chip, so the node copies tensors in and out directly and the chip's kernels
// use the same addresses. Only the bytes are shared. The allocator's bookkeeping is private to the
// process that calls alloc()/free(); exactly one process must allocate from an arena.
//
// Not thread-safe: the caller serialises alloc(), free() and the accessors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "echelon/buffer.h"
#include "echelon/tensor.h"

namespace echelon::chip {

class DeviceArena {
 public:
  static constexpr uint64_t ALIGNMENT = 256;

  // Maps `capacity_bytes` (rounded up to ALIGNMENT) of shared memory. `chip_id` becomes each
  // backing's owner_worker_path_id. Throws ChipError when capacity is 0 or mmap fails.
  DeviceArena(uint64_t capacity_bytes, uint32_t chip_id);
  DeviceArena(DeviceArena&& other) noexcept;
  DeviceArena& operator=(DeviceArena&& other) noexcept;
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;
  ~DeviceArena();

  // A READWRITE DEVICE_MALLOC backing of `nbytes` with a fresh identity, ALIGNMENT-aligned.
  // Throws ChipError for 0 bytes or when no free block fits ("device arena full: ...").
  BufferDescriptor alloc(uint64_t nbytes);
  // Returns the backing's bytes to the arena, merging with free neighbours. Throws ChipError when
  // `desc` is not from this arena, was already freed, or does not match the live allocation.
  void free(const BufferDescriptor& desc);

  // Address of the first byte of a DEVICE_MALLOC view after checking the view lies inside this
  // arena; usable as the chip's AddressResolver for device tensors. Throws ChipError otherwise.
  void* resolve(const Tensor& tensor) const;

  std::byte* base() const { return base_; }
  uint64_t capacity() const { return capacity_; }
  uint64_t used_bytes() const { return used_; }  // in ALIGNMENT-rounded blocks
  uint64_t largest_free_block() const;
  size_t live_allocations() const { return live_.size(); }
  size_t free_blocks() const { return free_.size(); }
  uint32_t chip_id() const { return chip_id_; }

 private:
  struct Allocation {
    CanonicalIdentity identity;
    uint64_t nbytes = 0;  // as requested
    uint64_t block = 0;   // rounded to ALIGNMENT
  };
  // Offset of `desc` inside the arena, or throws naming why it cannot be one of ours.
  uint64_t offset_of(const BufferDescriptor& desc) const;
  void insert_free_block(uint64_t offset, uint64_t size);
  void unmap() noexcept;

  std::byte* base_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t used_ = 0;
  uint32_t chip_id_ = 0;
  std::map<uint64_t, uint64_t> free_;           // offset -> size, ordered for first fit and merging
  std::map<uint64_t, Allocation> live_;         // offset -> allocation
  // Last identity freed at each offset, so a second free reads "double free" rather than
  // "unknown"; bounded by capacity / ALIGNMENT entries.
  std::unordered_map<uint64_t, CanonicalIdentity> freed_at_;
};

}  // namespace echelon::chip
