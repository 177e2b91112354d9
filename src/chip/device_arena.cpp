#include "chip/device_arena.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include "echelon/chip_callable.h"

namespace echelon::chip {

namespace {

uint64_t round_up(uint64_t n) { return (n + DeviceArena::ALIGNMENT - 1) / DeviceArena::ALIGNMENT * DeviceArena::ALIGNMENT; }

std::string describe_buffer(const BufferDescriptor& d) {
  return fmt::format("buffer {}/gen {} ({} bytes)", d.identity.buffer_id, d.identity.generation, d.nbytes);
}

}  // namespace

DeviceArena::DeviceArena(uint64_t capacity_bytes, uint32_t chip_id) : chip_id_(chip_id) {
  if (capacity_bytes == 0) throw ChipError("device arena: capacity must be greater than 0 bytes");
  if (capacity_bytes > UINT64_MAX - ALIGNMENT)
    throw ChipError(fmt::format("device arena: capacity {} bytes is too large", capacity_bytes));
  capacity_ = round_up(capacity_bytes);
  void* p = ::mmap(nullptr, capacity_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw ChipError(fmt::format("device arena of chip {}: cannot map {} bytes of shared memory: {}", chip_id,
                                capacity_, std::strerror(errno)));
  base_ = static_cast<std::byte*>(p);
  free_.emplace(0, capacity_);
}

DeviceArena::DeviceArena(DeviceArena&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      used_(std::exchange(other.used_, 0)),
      chip_id_(other.chip_id_),
      free_(std::move(other.free_)),
      live_(std::move(other.live_)),
      freed_at_(std::move(other.freed_at_)) {}

DeviceArena& DeviceArena::operator=(DeviceArena&& other) noexcept {
  if (this != &other) {
    unmap();
    base_ = std::exchange(other.base_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    used_ = std::exchange(other.used_, 0);
    chip_id_ = other.chip_id_;
    free_ = std::move(other.free_);
    live_ = std::move(other.live_);
    freed_at_ = std::move(other.freed_at_);
  }
  return *this;
}

DeviceArena::~DeviceArena() { unmap(); }

void DeviceArena::unmap() noexcept {
  if (base_) ::munmap(base_, capacity_);
  base_ = nullptr;
}

BufferDescriptor DeviceArena::alloc(uint64_t nbytes) {
  if (nbytes == 0) throw ChipError(fmt::format("device arena of chip {}: cannot allocate 0 bytes", chip_id_));
  const uint64_t block = nbytes > capacity_ ? 0 : round_up(nbytes);
  auto it = free_.begin();
  while (block != 0 && it != free_.end() && it->second < block) ++it;
  if (block == 0 || it == free_.end())
    throw ChipError(fmt::format("device arena full: {} of {} bytes in use on chip {}; cannot allocate {} bytes "
                                "(largest free block is {} bytes)",
                                used_, capacity_, chip_id_, nbytes, largest_free_block()));
  const auto [offset, size] = *it;
  free_.erase(it);
  if (size > block) free_.emplace(offset + block, size - block);

  const CanonicalIdentity identity = new_local_identity();
  live_[offset] = Allocation{identity, nbytes, block};
  used_ += block;
  return make_address_descriptor(BackendKind::DEVICE_MALLOC, AddressSpace::DEVICE, AccessMode::READWRITE, identity,
                                 nbytes, reinterpret_cast<uint64_t>(base_ + offset), chip_id_);
}

uint64_t DeviceArena::offset_of(const BufferDescriptor& desc) const {
  if (!desc.bound() || desc.backend_kind != BackendKind::DEVICE_MALLOC)
    throw ChipError(fmt::format("device arena of chip {}: {} is not a DEVICE_MALLOC backing", chip_id_,
                                desc.bound() ? to_string(desc.backend_kind) : "an unbound descriptor"));
  const uint64_t base = reinterpret_cast<uint64_t>(base_);
  const uint64_t addr = desc.base_address();
  if (base_ == nullptr || addr < base || addr - base >= capacity_ || (addr - base) % ALIGNMENT != 0)
    throw ChipError(fmt::format("device arena of chip {}: {} at {:#x} was not allocated from this arena "
                                "[{:#x}, {:#x})", chip_id_, describe_buffer(desc), addr, base, base + capacity_));
  return addr - base;
}

void DeviceArena::free(const BufferDescriptor& desc) {
  const uint64_t offset = offset_of(desc);
  const auto live = live_.find(offset);
  if (live == live_.end() || !(live->second.identity == desc.identity)) {
    const auto freed = freed_at_.find(offset);
    if (freed != freed_at_.end() && freed->second == desc.identity)
      throw ChipError(fmt::format("device arena of chip {}: double free of {} at offset {}", chip_id_,
                                  describe_buffer(desc), offset));
    throw ChipError(fmt::format("device arena of chip {}: unknown {} at offset {}: no live allocation has that "
                                "identity", chip_id_, describe_buffer(desc), offset));
  }
  if (live->second.nbytes != desc.nbytes)
    throw ChipError(fmt::format("device arena of chip {}: {} does not match the live allocation of {} bytes at "
                                "offset {}", chip_id_, describe_buffer(desc), live->second.nbytes, offset));
  used_ -= live->second.block;
  insert_free_block(offset, live->second.block);
  freed_at_[offset] = desc.identity;
  live_.erase(live);
}

void DeviceArena::insert_free_block(uint64_t offset, uint64_t size) {
  auto it = free_.emplace(offset, size).first;
  if (auto next = std::next(it); next != free_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_.erase(next);
  }
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_.erase(it);
    }
  }
}

uint64_t DeviceArena::largest_free_block() const {
  uint64_t largest = 0;
  for (const auto& [offset, size] : free_) largest = std::max(largest, size);
  return largest;
}

void* DeviceArena::resolve(const Tensor& tensor) const {
  offset_of(tensor.buffer);
  const uint64_t start = tensor.buffer.base_address() - reinterpret_cast<uint64_t>(base_) + tensor.byte_offset;
  const uint64_t extent = tensor.extent_bytes();
  if (start > capacity_ || extent > capacity_ - start)
    throw ChipError(fmt::format("device arena of chip {}: view {} (bytes [{}, +{})) runs past the arena's {} bytes",
                                chip_id_, tensor.describe(), start, extent, capacity_));
  return base_ + start;
}

}  // namespace echelon::chip
