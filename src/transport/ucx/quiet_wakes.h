// A throttle for wake-ups in which UCX did nothing at all. A UCP worker's event fd can stay
// readable with nothing to progress (seen on loopback tcp while a refused connection attempt is
// retried and the peer's worker is not progressed), so a loop that waits on it would spin. Past a
// streak of such wake-ups each one sleeps a millisecond: a trickle of CPU instead of a spinning
// core. A wake-up in which UCX works (serving a peer's emulated RMA, say) ends the streak and never
// sleeps.
#pragma once

#include <chrono>
#include <thread>

namespace echelon::transport::ucx {

class QuietWakes {
 public:
  // `streak`: how many quiet wake-ups in a row cost nothing; pick it long enough that brief BUSY
  // states in normal traffic (a wait returning at once while arming reports BUSY) never reach it.
  explicit constexpr QuietWakes(int streak) noexcept : streak_(streak) {}

  void worked() noexcept { quiet_ = 0; }
  void quiet() {
    if (++quiet_ > streak_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

 private:
  int streak_;
  int quiet_ = 0;
};

}  // namespace echelon::transport::ucx
