// echelon-remote-worker: the remote session daemon (runtime.md 9). Exit codes: 0 after
// SIGTERM/SIGINT or --help, 1 when it cannot start or fails while running, 2 for a usage error
// (reported before any socket is bound).
#include <cstdio>
#include <exception>
#include <utility>

#include "fmt/format.h"
#include "remote/daemon/daemon.h"
#include "remote/daemon/daemon_log.h"
#include "remote/daemon_options.h"
#include "spdlog/spdlog.h"

using namespace echelon::remote;

int main(int argc, char** argv) {
  DaemonOptions options;
  try {
    options = parse_daemon_options(argc, argv);
  } catch (const DaemonCliExit& e) {
    if (e.is_help()) {
      std::fputs(e.what(), stdout);
      return DAEMON_EXIT_OK;
    }
    fmt::print(stderr, "echelon-remote-worker: {}\nTry 'echelon-remote-worker --help'.\n", e.what());
    return e.exit_code();
  }

  daemon::configure_daemon_logging(options.log_level);
  if (options.insecure_no_auth)
    spdlog::warn("event=insecure_no_auth reason=\"authentication is off: anyone who can reach {} can start a session\"",
                 options.listen.to_string());
  try {
    daemon::Daemon d(std::move(options));
    // The one line on stdout; whoever started us waits for it instead of sleeping (RT-908).
    fmt::print("echelon-remote-worker listening {}\n", d.address().to_string());
    std::fflush(stdout);
    d.run();
    return DAEMON_EXIT_OK;
  } catch (const std::exception& e) {
    spdlog::error("event=fatal reason=\"{}\"", e.what());
    return DAEMON_EXIT_FAILURE;
  }
}
