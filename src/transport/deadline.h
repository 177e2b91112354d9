// Absolute monotonic deadlines (protocol.md 13: within a host a deadline is passed down unchanged,
// never re-derived per hop) and the conversion every poll()/epoll_wait() call needs.
#pragma once

#include <chrono>

namespace echelon::transport {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;  // the same type as echelon::Deadline

inline Deadline deadline_in(std::chrono::nanoseconds d) { return Clock::now() + d; }

// Milliseconds left until `deadline` for poll(2), rounded up so that a wait never returns just
// before its deadline and then spins on a zero timeout; 0 once it has passed; capped to int.
int poll_timeout_ms(Deadline deadline);

}  // namespace echelon::transport
