// An event count: notify() never blocks; wait() spins briefly, then parks on a futex. A wake that
// happens between prepare() and wait() is never lost (edge-triggered, lessons #1612).
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

}  // namespace echelon
