// SIGTERM and SIGINT as a readable descriptor (signalfd), so the daemon's main loop sees a
// shutdown request as one more event instead of running code in a signal handler. Must be
// constructed before any thread starts: the signals are blocked in the constructing thread and
// every thread created later inherits that mask, so no other thread can swallow them.
// SIGPIPE is ignored process-wide: a parent that hangs up mid-reply is an error for that session,
// never a reason for the daemon to die (lessons: SIGPIPE on writing to a closed peer).
#pragma once

#include "transport/fd.h"

namespace echelon::remote::daemon {

class ShutdownSignals {
 public:
  ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  int fd() const { return fd_.get(); }
  // The pending shutdown signal's number, or 0 when none is pending (never blocks).
  int take();

 private:
  transport::Fd fd_;
};

}  // namespace echelon::remote::daemon
