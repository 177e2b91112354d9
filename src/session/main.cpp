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
  // Catch everything so the stack unwinds: the runner's destructors release the session's
  // shared-memory objects and reap the inner children, which an uncaught exception would skip.
  try {
    return echelon::session::SessionRunner(std::move(args)).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echelon-l3-session: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "echelon-l3-session: unknown exception\n");
  }
  return echelon::session::EXIT_SESSION_FAILED;
}
