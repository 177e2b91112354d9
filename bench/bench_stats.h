// Timing helpers the suites share: a steady clock, elapsed time and the median of samples.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace echelon::bench {

using BenchClock = std::chrono::steady_clock;

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

inline double elapsed_us(BenchClock::time_point since) {
  return std::chrono::duration<double, std::micro>(BenchClock::now() - since).count();
}

}  // namespace echelon::bench
