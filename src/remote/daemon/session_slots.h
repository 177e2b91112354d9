// The `--max-sessions` bound (runtime.md RT-908): a session holds one slot from the moment its
// runner is about to be spawned until that runner has been reaped. A request that finds every
// slot taken gets a BusyError reply instead of a runner.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>

namespace echelon::remote::daemon {

class SessionSlots;

// One reserved slot; moving it along with the runner keeps the count honest without any manual
// release, and destroying it gives the slot back.
class SlotLease {
 public:
  SlotLease() = default;
  SlotLease(SlotLease&& other) noexcept : slots_(std::exchange(other.slots_, nullptr)) {}
  SlotLease& operator=(SlotLease&& other) noexcept;
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;
  ~SlotLease() { release(); }

  bool held() const { return slots_ != nullptr; }
  void release() noexcept;

 private:
  friend class SessionSlots;
  explicit SlotLease(SessionSlots* slots) : slots_(slots) {}
  SessionSlots* slots_ = nullptr;
};

class SessionSlots {
 public:
  explicit SessionSlots(size_t capacity) : capacity_(capacity) {}
  SessionSlots(const SessionSlots&) = delete;
  SessionSlots& operator=(const SessionSlots&) = delete;

  // A held lease, or an empty one when all `capacity` slots are taken.
  SlotLease try_reserve();
  size_t in_use() const;
  size_t capacity() const { return capacity_; }

 private:
  friend class SlotLease;
  void give_back() noexcept;

  const size_t capacity_;
  mutable std::mutex mutex_;
  size_t in_use_ = 0;
};

}  // namespace echelon::remote::daemon
