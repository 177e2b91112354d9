// The runner's data thread of the ucx profile (buffers.md 9.3 "Threads and waiting", "Import",
// "Materialising an imported argument"): one UCP data worker, owned by the one thread this class
// starts. That thread progresses the worker all the time, idle included (blocked in
// Worker::wait() on the worker's event fd, never spinning), because UCX over TCP emulates one-sided
// operations with messages the *target* must progress: peers RMA into this runner's allocations
// through this worker. The runner's own RMA (get/put/put_runs) is handed to the thread through a
// queue and Worker::wake(); the calling thread blocks until the operation is done, failed or its
// deadline passed.
//
// Endpoints to peer data workers are created on first use without peer error handling (data
// endpoints run over any transport, shared memory included) and cached per peer address; unpacked
// remote keys are cached per (peer, packed key) until release_remote_key() or until their endpoint
// goes. An operation that fails or times out drops its peer's endpoint (and keys) from the cache;
// the next operation to that peer connects again.
//
// Operations run one at a time on the data thread, each bounded by its own deadline.
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

  // Registers [base, base + bytes) for RMA by peers (context level; any thread).
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

  // Stops and joins the data thread after the operation it runs; queued operations fail with
  // CLOSED. Destroys keys, then endpoints, then the worker. Idempotent; any thread but the data
  // thread.
  void close() noexcept;

 private:
  struct Engine;  // the data thread's state
  struct Shared;  // what the callers and the data thread share
  UcxDataPlane(std::string name, std::shared_ptr<ucx::Context> context);
  enum class Direction { GET, PUT };
  // Runs `fn` on the data thread and waits for it (or throws TIMEOUT while it is still queued).
  void run_job(std::function<void(Engine&)> fn, Deadline deadline, const std::string& what);
  void transfer(Direction direction, const RemoteRange& range, uint8_t* local, std::span<const ByteRun> runs,
                Deadline deadline);

  std::string name_;
  std::shared_ptr<ucx::Context> context_;
  std::vector<uint8_t> address_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace echelon::transport
