// Adaptive waiting for hand-offs between threads: a short spin catches a partner running on
// another core; a few yields let a partner sharing our core run; the caller then parks. Long
// spins are harmful on small, noisy machines: they burn the very core the partner needs.
#pragma once

#include <sched.h>

#include <cstdint>

namespace echelon {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

struct SpinPolicy {
  uint32_t spins = 256;  // ~2-3 us of pause instructions
  uint32_t yields = 4;
};

// Returns true as soon as ready() holds, false when the budget is spent (the caller should park).
template <typename Ready>
bool spin_then_yield(Ready&& ready, SpinPolicy policy = {}) {
  for (uint32_t i = 0; i < policy.spins; ++i) {
    if (ready()) return true;
    cpu_relax();
  }
  for (uint32_t i = 0; i < policy.yields; ++i) {
    if (ready()) return true;
    sched_yield();
  }
  return ready();
}

}  // namespace echelon
