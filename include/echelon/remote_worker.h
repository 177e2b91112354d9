// Remote L3 children of a level >= 4 Worker (runtime.md section 9): what the user describes with
// Worker::add_remote_worker, and the dispatcher entries the remote session runs. Field names follow
// the bootstrap manifest (RT-909) and the remote knobs of RT-807.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "echelon/callable.h"
#include "echelon/remote_callable.h"

namespace echelon {

struct RemoteWorkerSpec {
  // The daemon (echelon-remote-worker): numeric IPv4 or "localhost" (= 127.0.0.1, no resolver
  // call, since a name lookup cannot be bounded by a deadline) and its non-zero port.
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // "host_tcp" (TCP lanes, copies inside control frames) or "ucx" (UCP active-message lanes and RMA
  // data plane after a TCP bootstrap; UCX picks its transports from UCX_TLS / UCX_NET_DEVICES).
  // "ucx" needs libucp.so.0 (Debian libucx0) at run time; add_remote_worker says when it is missing.
  std::string transport_profile = "host_tcp";
  // The remote inner Worker(level=3): chips and SUB workers (0..64 each) and its heap ring size.
  uint32_t num_chips = 0;
  uint32_t num_sub_workers = 0;
  uint64_t heap_ring_bytes = uint64_t{256} << 20;
  // remote_copy_to / remote_copy_from move at most this many bytes per control (1 B .. 16 MiB - 48).
  // Each chunk is one command-lane round trip; on loopback, 1-16 MiB chunks measured within ~20 %
  // of each other, and smaller chunks bound how long one copy holds the lane between TASKs.
  uint64_t copy_chunk_bytes = uint64_t{4} << 20;
  // ucx only: copies up to this many bytes travel inside control frames like on host_tcp; larger
  // ones are moved by the runner with RMA against the caller's memory, in one control (0..16 MiB - 48).
  uint64_t ucx_inline_copy_max = uint64_t{64} << 10;
  // Shared-secret file (protocol.md 15.3); empty = the daemon runs --insecure-no-auth.
  std::string auth_secret_file;

  // Seconds. Every value must be finite; zero is allowed only where it means "none".
  double startup_timeout_s = 30;   // bootstrap + HELLO READY, also capped by the root startup deadline
  double control_timeout_s = 30;   // each control (the session timeout of protocol.md 13)
  double health_expiry_s = 30;     // no HEALTH for this long: the endpoint is FAILED (>= 2 x interval)
  double health_interval_s = 0.2;  // how often the runner sends HEALTH
  double shutdown_timeout_s = 10;  // SHUTDOWN until the runner closed its lane
  double task_timeout_s = 0;       // 0 = none: a remote TASK is guarded by the health lane

  // Dispatcher entries as NATIVE_IMPORT targets "library:symbol" (remote_task_dispatcher).
  // Worker::register_callable(RemoteCallable, workers) adds to the same list.
  std::vector<std::string> remote_task_dispatcher;

  // Throws ValidationError naming the field ("RemoteWorkerSpec.port: ..."). Creates nothing.
  void validate() const;
};

}  // namespace echelon
