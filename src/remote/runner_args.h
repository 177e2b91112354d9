// The runner's command line (runtime.md RT-911). The daemon always writes `--name=value`; the
// runner accepts only that form, each single-valued flag once, and nothing else. No secret is
// ever in here: the session key travels on the handoff pipe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transport/deadline.h"

namespace echelon::remote {

inline constexpr int HANDOFF_FD = 3;  // read end: manifest and session key, written by the daemon
inline constexpr int STATUS_FD = 4;   // write end: the runner's one status message

struct RunnerArgs {
  int handoff_fd = HANDOFF_FD;
  int status_fd = STATUS_FD;
  std::string bind_ip;                  // numeric IPv4, the IP part of the daemon's --listen
  transport::Deadline deadline{};       // absolute CLOCK_MONOTONIC (steady_clock on Linux)
  double proof_timeout_s = 5.0;
  std::vector<std::string> plugin_dirs;  // in the daemon's order

  friend bool operator==(const RunnerArgs&, const RunnerArgs&) = default;
};

// argv[1..] for the runner (argv[0] is added by the spawner).
std::vector<std::string> runner_arguments(const RunnerArgs& args);

// Strict parse of argv[1..]; throws ValidationError naming the flag.
RunnerArgs parse_runner_args(int argc, const char* const* argv);

// `--deadline-monotonic-ns` is steady_clock's count: CLOCK_MONOTONIC nanoseconds on Linux.
uint64_t to_monotonic_ns(transport::Deadline d);
transport::Deadline from_monotonic_ns(uint64_t ns);

}  // namespace echelon::remote
