// echelon-l3-session: the per-session runner a remote daemon spawns (runtime.md RT-911).
//   echelon-l3-session --handoff-fd=3 --status-fd=4 --bind-ip=<IP> --deadline-monotonic-ns=<u64>
//                      --proof-timeout-s=<n> [--plugin-dir=<dir>]...
#include <cstdio>
#include <exception>

#include "remote/runner_args.h"
#include "session/session_runner.h"

int main(int argc, char** argv) {
  echelon::remote::RunnerArgs args;
  try {
    args = echelon::remote::parse_runner_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echelon-l3-session: %s\n", e.what());
    return echelon::session::EXIT_BAD_ARGUMENTS;
  }
  return echelon::session::SessionRunner(std::move(args)).run();
}
