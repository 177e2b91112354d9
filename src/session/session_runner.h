// One remote L3 session, start to end (runtime.md RT-903..907, protocol.md 5.1):
//   1. read the handoff (manifest + optional session key) and re-validate the manifest;
//   2. build the inner Worker(level=3) and init() it - it forks its chips and SUBs, so this
//      happens while the process is still single-threaded;
//   3. install the dispatcher registry (NATIVE_IMPORT plugins from --plugin-dir);
//   4. open the (empty) buffer registry: owner allocations and imports of this session;
//   5. bind the command and health listeners on --bind-ip, ephemeral ports, and report them on the
//      status fd;
//   6. accept the command lane, send HELLO READY (and check the parent HELLO with a key), accept the
//      health lane (with its proof), close the listeners, start the health thread;
//   7. serve the command lane until SHUTDOWN, EOF, a protocol violation or a failed health send;
//   8. stop health, release every import and free every allocation, close the inner worker
//      (reaping every child), close the lanes.
// Everything up to step 6 is bounded by --deadline-monotonic-ns, unchanged.
#pragma once
#include "remote/runner_args.h"

namespace echelon::session {

// Exit statuses of echelon-l3-session.
inline constexpr int EXIT_CLEAN_SHUTDOWN = 0;
inline constexpr int EXIT_SESSION_FAILED = 1;  // EOF, violation, health failure, attach timeout
inline constexpr int EXIT_BAD_ARGUMENTS = 2;
inline constexpr int EXIT_STARTUP_FAILED = 3;  // reported on the status fd

class SessionRunner {
 public:
  explicit SessionRunner(remote::RunnerArgs args) : args_(std::move(args)) {}
  // Runs the whole session; returns the exit status.
  int run();

 private:
  remote::RunnerArgs args_;
};

}  // namespace echelon::session
