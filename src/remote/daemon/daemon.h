// The `echelon-remote-worker` daemon (runtime.md 9, RT-901..911): accepts bootstrap connections,
// runs each on its own session thread, owns every started runner exactly once, reaps runners as
// they exit, and on SIGTERM/SIGINT stops accepting, cancels bootstraps in progress and kills every
// runner group.
//
// Threading: the main thread (run()) owns a Reactor with the listener, the shutdown signalfd and
// the pidfd of every runner it owns; it never blocks on a peer. Each accepted connection gets one
// session thread (serve_session), at most --max-sessions of them at a time; beyond that a
// connection gets a plain BusyError and is closed. A session thread hands its runner to the main
// thread after the success reply was sent (the only transfer of ownership), then ends; the main
// thread joins finished session threads on each turn. Runners are started by fork + immediate
// exec only (spawn_runner), never by a bare fork from this threaded process.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "remote/daemon/session.h"
#include "remote/daemon/session_cancel.h"
#include "remote/daemon/session_slots.h"
#include "remote/daemon/shutdown_signals.h"
#include "remote/daemon_options.h"
#include "transport/reactor.h"
#include "transport/tcp_listener.h"

namespace echelon::remote::daemon {

class Daemon {
 public:
  // Blocks SIGTERM/SIGINT and binds the listener: call before any other thread exists. Throws
  // (TransportError for the bind) when the daemon cannot start; the caller exits 1.
  explicit Daemon(DaemonOptions options);
  // Stops whatever still runs, as the shutdown path does.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The bound address (the real port when --listen asked for port 0).
  transport::EndpointAddress address() const { return address_; }

  // Serves until SIGTERM or SIGINT, then shuts down; returns the signal that ended it.
  int run();

 private:
  // A running session thread and what the main thread needs to stop and join it.
  struct Connection {
    std::shared_ptr<SessionCancel> cancel = std::make_shared<SessionCancel>();
    std::shared_ptr<std::atomic<bool>> finished = std::make_shared<std::atomic<bool>>(false);
    std::thread thread;
  };

  void accept_ready();
  void start_session(transport::TcpSocket socket);
  void join_finished_sessions();
  void adopt_handed_off_runners();
  void runner_exited(int pidfd);
  void sweep_shm(uint64_t session_id);
  void shutdown();

  const DaemonOptions options_;
  const SessionConfig session_config_;
  ShutdownSignals signals_;
  transport::TcpListener listener_;
  transport::EndpointAddress address_;
  transport::Reactor reactor_;
  SessionSlots slots_;

  uint64_t next_connection_ = 1;
  std::list<Connection> connections_;

  std::mutex handoff_mutex_;
  std::vector<OwnedRunner> handed_off_;  // filled by session threads, drained by the main thread

  std::map<int, OwnedRunner> owned_;  // by pidfd; main thread only
  int stop_signal_ = 0;
  bool shut_down_ = false;
};

}  // namespace echelon::remote::daemon
