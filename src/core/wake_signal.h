// An event count: notify() never blocks; wait() spins briefly, then parks on a futex. A wake that
// happens between prepare() and wait() is never lost (edge-triggered, lessons #1612). It uses
// shared futexes, so an instance placed in a MAP_SHARED mapping made before fork can be notified
// by child processes (see Doorbell).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "core/spin_wait.h"

namespace echelon {

class WakeSignal {
 public:
  using Clock = std::chrono::steady_clock;

  uint32_t prepare() const { return epoch_.load(std::memory_order_acquire); }
  void notify() noexcept;
  // Returns when the epoch moved past `seen` or at `deadline`.
  void wait(uint32_t seen, std::optional<Clock::time_point> deadline, SpinPolicy policy = {});

 private:
  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint32_t> waiters_{0};
};

// How a child process wakes its parent's Scheduler: set its lane's event flag, bump the signal.
// Both words live in a mapping shared across fork.
struct Doorbell {
  std::atomic<uint32_t>* lane_flag = nullptr;
  WakeSignal* signal = nullptr;

  void ring() const noexcept {
    lane_flag->store(1, std::memory_order_release);
    signal->notify();
  }
};

}  // namespace echelon
