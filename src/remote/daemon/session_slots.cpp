#include "remote/daemon/session_slots.h"

#include <utility>

namespace echelon::remote::daemon {

SlotLease& SlotLease::operator=(SlotLease&& other) noexcept {
  if (this != &other) {
    release();
    slots_ = std::exchange(other.slots_, nullptr);
  }
  return *this;
}

void SlotLease::release() noexcept {
  if (SessionSlots* s = std::exchange(slots_, nullptr)) s->give_back();
}

SlotLease SessionSlots::try_reserve() {
  std::lock_guard lock(mutex_);
  if (in_use_ >= capacity_) return SlotLease{};
  ++in_use_;
  return SlotLease{this};
}

size_t SessionSlots::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

void SessionSlots::give_back() noexcept {
  std::lock_guard lock(mutex_);
  --in_use_;
}

}  // namespace echelon::remote::daemon
