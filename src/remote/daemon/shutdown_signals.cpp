#include "remote/daemon/shutdown_signals.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "transport/transport_error.h"

namespace echelon::remote::daemon {

ShutdownSignals::ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (const int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0)
    transport::throw_errno("blocking SIGTERM/SIGINT", err);
  fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) transport::throw_errno("signalfd", errno);
  ::signal(SIGPIPE, SIG_IGN);
}

int ShutdownSignals::take() {
  signalfd_siginfo info{};
  const ssize_t n = ::read(fd_.get(), &info, sizeof info);
  return n == static_cast<ssize_t>(sizeof info) ? static_cast<int>(info.ssi_signo) : 0;
}

}  // namespace echelon::remote::daemon
