// What the remote suites share: a daemon started for the run (insecure, ephemeral loopback port,
// the bench plugin directory) and the parent options and loopback spec its sessions use.
#pragma once

#include <cstdint>

#include "echelon/options.h"
#include "echelon/remote_worker.h"
#include "remote/local_daemon.h"

namespace echelon::bench {

inline remote::LocalDaemonOptions bench_daemon_options() {
  return remote::LocalDaemonOptions{.binary = ECHELON_REMOTE_WORKER_PATH,
                                    .plugin_dirs = {ECHELON_SESSION_PLUGIN_DIR},
                                    .session_binary = ECHELON_SESSION_BINARY,
                                    .log_level = "error"};
}

inline WorkerOptions bench_parent_options() {
  WorkerOptions o;
  o.startup_timeout_s = 20;
  o.close_grace_s = 5;
  return o;
}

inline RemoteWorkerSpec bench_loopback_spec(const remote::LocalDaemon& d, uint32_t chips = 0) {
  RemoteWorkerSpec s;
  s.port = d.port();
  s.num_chips = chips;
  s.heap_ring_bytes = uint64_t{4} << 20;  // the runner's inner Worker needs little
  s.startup_timeout_s = 15;
  s.shutdown_timeout_s = 5;
  return s;
}

}  // namespace echelon::bench
