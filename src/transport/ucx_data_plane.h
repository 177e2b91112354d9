// The runner's data thread of the ucx profile (buffers.md 9.3 "Threads and waiting", "Import",
// "Materialising an imported argument"): one UCP data worker, owned by the one thread this class
// starts. That thread progresses the worker all the time, idle included (blocked in
// Worker::wait() on the worker's event fd, never spinning), because peers reach this runner's
// allocations through this worker: with one-sided RMA that UCX emulates with messages the target
// must progress (shared memory), or with get and put requests the thread answers itself (tcp; see
// ucx_data_engine.h for why). The runner's own transfers (get/put/put_runs) are handed to the
// thread through a queue and Worker::wake(); the calling thread blocks until the transfer is done,
// failed or its deadline passed.
//
// Endpoints to peer data workers are created on first use, with peer error handling where the
// transports allow it, and cached per peer address; unpacked remote keys are cached per (peer,
// packed key) until release_remote_key() or until their endpoint goes. A transfer that fails or
// times out drops its peer's endpoint (and keys) from the cache; the next one connects again.
//
// Transfers run one at a time on the data thread, each bounded by its own deadline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "transport/deadline.h"
#include "transport/ucx/ucx_api.h"

namespace echelon::transport {

class ServedRanges;
class UcxDataEngine;

// A byte range relative to a base: [offset, offset + length).
struct ByteRun {
  size_t offset = 0;
  size_t length = 0;
  friend bool operator==(const ByteRun&, const ByteRun&) = default;
};

// The runs where `snapshot` and `current` (equal sizes, else std::invalid_argument) differ, in
// ascending order. Two runs separated by fewer than `min_gap` equal bytes are merged into one (the
// equal bytes in between are then written back unchanged), so scattered small changes do not turn
// into one RMA operation per byte. min_gap 0 or 1 merges nothing.
std::vector<ByteRun> changed_runs(std::span<const uint8_t> snapshot, std::span<const uint8_t> current,
                                  size_t min_gap = 64);

// Where a peer's registered memory is: its data worker, the address of the range and its key.
struct RemoteRange {
  std::span<const uint8_t> worker_address;  // the owner's data worker (UcxExportDescriptor)
  uint64_t remote_addr = 0;                 // the owner's address of the byte to access
  std::span<const uint8_t> packed_rkey;     // ucp_rkey_pack() of the owner's registration
  // The owner is a UcxDataPlane, which answers get and put requests for what it registered: used
  // instead of one-sided RMA where that would be emulated by the owner over a transport that
  // detects peer failure (tcp). False for the parent's memory (always one-sided: the parent offers
  // RMA only where it is safe for it).
  bool owner_serves = false;
};

// What a data plane has done so far (diagnostics, tests).
struct UcxDataPlaneStats {
  uint64_t one_sided_transfers = 0;  // this plane's get/put/put_runs done with UCP put/get
  uint64_t served_transfers = 0;     // ... done through requests the owner answered
  uint64_t requests_served = 0;      // peers' requests this plane answered with the bytes / a write
  uint64_t requests_refused = 0;     // ... answered NOT_REGISTERED
  uint64_t requests_dropped = 0;     // malformed requests dropped unanswered
  uint64_t replies_failed = 0;       // answers that could not be sent (the requester went)
  uint64_t endpoints_created = 0;    // to peers, for transfers and for answers
};

class UcxDataPlane {
 public:
  // Each put/get is posted as operations of at most this many bytes (then one flush).
  static constexpr size_t kMaxOperationBytes = size_t{64} << 20;
  // At most this many operations are outstanding at once within one call.
  static constexpr size_t kMaxInflightOperations = 64;

  // Starts the data thread and creates its worker in `module`'s context (the context is created
  // now if needed: only after any fork). `name` goes into the worker name and error texts.
  static std::unique_ptr<UcxDataPlane> create(ucx::Module& module, std::string name);
  ~UcxDataPlane();  // close()
  UcxDataPlane(const UcxDataPlane&) = delete;
  UcxDataPlane& operator=(const UcxDataPlane&) = delete;

  const std::string& name() const noexcept { return name_; }
  // The data worker's UCP address (owner_worker_addr of export descriptors).
  const std::vector<uint8_t>& address() const noexcept { return address_; }

  // Registers [base, base + bytes) for RMA by peers (context level; any thread); the plane serves
  // peers' requests for the range until the registration is destroyed, which waits for a request
  // copying from or into it at that moment.
  std::unique_ptr<ucx::Registration> register_memory(void* base, size_t bytes);

  // Blocking RMA on the data thread; each returns once the bytes are remotely complete (flushed).
  // Throws TransportError naming the plane, the peer, the range and what failed: TIMEOUT when
  // `deadline` passed first (outstanding operations are cancelled, and `local` is no longer used
  // when the call returns), CLOSED after close(), otherwise what UCX reported.
  //
  // Reads `bytes` at range.remote_addr into `local`.
  void get(const RemoteRange& range, void* local, size_t bytes, Deadline deadline);
  // Writes `bytes` from `local` to range.remote_addr.
  void put(const RemoteRange& range, const void* local, size_t bytes, Deadline deadline);
  // Writes every run [offset, offset + length) from local_base + offset to
  // range.remote_addr + offset, then flushes once. Empty runs are skipped; no runs is a no-op.
  void put_runs(const RemoteRange& range, const void* local_base, std::span<const ByteRun> runs,
                Deadline deadline);

  // Connects to the peer (if not yet) and unpacks `packed_rkey` on that endpoint, caching both:
  // what an import checks up front, so a bad key or an unreachable owner fails IMPORT_BUFFER
  // rather than the first task. Throws TransportError naming the peer and the cause.
  void prepare_remote_key(std::span<const uint8_t> worker_address, std::span<const uint8_t> packed_rkey,
                          Deadline deadline);
  // Destroys the cached unpacked key of (peer, packed key), if any (RELEASE_IMPORT).
  void release_remote_key(std::span<const uint8_t> worker_address, std::span<const uint8_t> packed_rkey,
                          Deadline deadline);
  // Peers with a cached endpoint (diagnostics, tests).
  size_t cached_peers(Deadline deadline);
  UcxDataPlaneStats stats(Deadline deadline);

  // Stops and joins the data thread after the operation it runs; queued operations fail with
  // CLOSED. Destroys keys, then endpoints, then the worker. Idempotent; any thread but the data
  // thread.
  void close() noexcept;

 private:
  struct Shared;  // what the callers and the data thread share
  UcxDataPlane(std::string name, std::shared_ptr<ucx::Context> context);
  // Runs `fn` on the data thread and waits for it (or throws TIMEOUT while it is still queued).
  void run_job(std::function<void(UcxDataEngine&)> fn, Deadline deadline, const std::string& what);
  void transfer(bool get, const RemoteRange& range, uint8_t* local, std::span<const ByteRun> runs,
                Deadline deadline);

  std::string name_;
  std::shared_ptr<ucx::Context> context_;
  std::shared_ptr<ServedRanges> served_;
  std::vector<uint8_t> address_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace echelon::transport
