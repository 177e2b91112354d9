#include "core/wake_signal.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace echelon {
namespace {

long futex(std::atomic<uint32_t>* addr, int op, uint32_t val, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), op, val, timeout, nullptr, 0);
}

}  // namespace

void WakeSignal::notify() noexcept {
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) != 0) futex(&epoch_, FUTEX_WAKE, INT_MAX, nullptr);
}

void WakeSignal::wait(uint32_t seen, std::optional<Clock::time_point> deadline, SpinPolicy policy) {
  if (spin_then_yield([&] { return epoch_.load(std::memory_order_acquire) != seen; }, policy)) return;
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  while (epoch_.load(std::memory_order_seq_cst) == seen) {
    timespec ts{};
    const timespec* tp = nullptr;
    if (deadline) {
      const auto left = *deadline - Clock::now();
      if (left <= Clock::duration::zero()) break;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      ts.tv_sec = static_cast<time_t>(ns / 1000000000);
      ts.tv_nsec = static_cast<long>(ns % 1000000000);
      tp = &ts;
    }
    futex(&epoch_, FUTEX_WAIT, seen, tp);  // EAGAIN / EINTR / ETIMEDOUT: loop re-checks
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace echelon
