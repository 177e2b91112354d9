// The interface of the UCX module (libechelon_ucx.so). Everything that touches libucp lives behind
// it, so echelon itself never links UCX and a missing libucp is a clear runtime error of the
// loader (transport/ucx_module.h) instead of a binary that does not start. No UCX type appears
// here: the module's objects are reached only through these abstract classes.
//
// Threading (buffers.md 9.3): a Worker and everything created from it (endpoints, operations,
// remote keys) belong to one owning thread. The only call other threads may make is
// Worker::wake(). A Context is shared by all workers of the process (mt_workers_shared).
//
// Lifetimes: every object keeps what it was created from alive (an endpoint its worker, a worker
// the context), so destruction order is free. The module itself is never unloaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "transport/deadline.h"
#include "transport/transport_error.h"

namespace echelon::transport::ucx {

// Bumped on any change to the classes below; the loader refuses a module of another version.
inline constexpr uint32_t kModuleAbiVersion = 7;  // 2: Lane; 3: detects_peer_failure; 4: owner_driven;
                                                  // 5: offloads_rma, send_am_split; 6: prepare_wait;
                                                  // 7: Endpoint::detects_peer_failure, offloads_rma
// The C factory the loader resolves: `extern "C" Module* echelon_ucx_module_v1()`.
inline constexpr const char* kModuleFactorySymbol = "echelon_ucx_module_v1";

// One non-blocking UCP operation (AM send, put, get, flush). Destroying an unfinished one cancels
// it; the buffers it reads or writes must stay valid until it is done (AM sends own theirs).
class Operation {
 public:
  virtual ~Operation() = default;
  // True once completed, successfully or not. Does not progress the worker.
  virtual bool done() const noexcept = 0;
  // Progresses the owning worker (blocking on its event fd, never spinning) until the operation
  // completes. Throws TransportError: PEER_CLOSED when the endpoint failed, TIMEOUT when the
  // deadline passed first (the operation is then cancelled), IO_ERROR for any other UCX status.
  virtual void wait(Deadline deadline) = 0;
};

// A peer's packed rkey unpacked for one endpoint; valid for RMA on that endpoint only.
class RemoteKey {
 public:
  virtual ~RemoteKey() = default;
};

// A local memory range registered for RMA (ucp_mem_map of existing memory).
class Registration {
 public:
  virtual ~Registration() = default;  // ucp_mem_unmap
  virtual void* base() const noexcept = 0;
  virtual size_t bytes() const noexcept = 0;
  // ucp_rkey_pack() of the registration: what a peer needs (with base()) to put/get here.
  virtual const std::vector<uint8_t>& packed_rkey() const noexcept = 0;
};

// Called at most once, from inside progress on the owning thread, when UCX reports the peer
// failed (UCP_ERR_HANDLING_MODE_PEER). It must not call into the worker.
using PeerErrorFn = std::function<void(const std::string& reason)>;

class Endpoint {
 public:
  virtual ~Endpoint() = default;  // force-closes the endpoint
  // One active message: `header` as the AM user header, `data` as the AM data (eager or
  // rendezvous, UCX's choice). The operation owns both buffers until it completes.
  virtual std::unique_ptr<Operation> send_am(uint16_t am_id, std::vector<uint8_t> header,
                                             std::vector<uint8_t> data) = 0;
  // As send_am, with the first `header_bytes` of `message` as the user header and the rest as the
  // data: a whole encoded frame goes out without splitting it into two buffers (a copy).
  virtual std::unique_ptr<Operation> send_am_split(uint16_t am_id, std::vector<uint8_t> message,
                                                   size_t header_bytes) = 0;
  virtual std::unique_ptr<RemoteKey> unpack_rkey(std::span<const uint8_t> packed) = 0;
  // One-sided writes/reads of the peer range at `remote_addr` described by `key` (unpacked on
  // this endpoint). Local completion only; flush() gives remote completion.
  virtual std::unique_ptr<Operation> put(const void* local, size_t bytes, uint64_t remote_addr,
                                         const RemoteKey& key) = 0;
  virtual std::unique_ptr<Operation> get(void* local, size_t bytes, uint64_t remote_addr,
                                         const RemoteKey& key) = 0;
  // Completes when every earlier put/get on this endpoint is remotely complete.
  virtual std::unique_ptr<Operation> flush() = 0;
  // Empty while healthy; the first failure otherwise (sticky).
  virtual std::string failure() const = 0;
  // Whether the endpoint uses peer error handling (Worker::connect with `on_error`, and a transport
  // in UCX_TLS that can detect a dead peer).
  virtual bool detects_peer_failure() const = 0;
  // Whether UCX gave the endpoint a lane that does RMA in the transport (RDMA): a put or get then
  // needs nothing from the peer process. False where UCX emulates RMA with messages the peer
  // serves (tcp, shared memory).
  virtual bool offloads_rma() const = 0;
};

// A received active message; the whole data is in memory (rendezvous data already pulled).
struct ReceivedAm {
  uint16_t am_id = 0;
  std::vector<uint8_t> header;
  std::vector<uint8_t> data;
  bool rendezvous = false;  // the data was pulled with ucp_am_recv_data_nbx (diagnostics, tests)
};

// Decides, from the header and the announced data length alone, whether a message is accepted
// before anything is allocated for it (WIRE-3/WIRE-4). Called inside progress; must not call
// into the worker. A refused message is dropped (a rendezvous sender then sees an error).
using AmFilter = std::function<bool(std::span<const uint8_t> header, size_t data_bytes)>;

class Worker {
 public:
  virtual ~Worker() = default;
  // ucp_worker_get_address: what a peer passes to connect().
  virtual std::vector<uint8_t> address() const = 0;
  // Progresses until UCX has nothing more to do; true if anything happened.
  virtual bool progress() = 0;
  // Blocks until UCX has events, wake() is called, or the deadline passes (false then). Arms the
  // worker first and returns at once when it has pending events. Never spins.
  virtual bool wait(Deadline deadline) = 0;
  // Thread-safe: ends the current or next wait().
  virtual void wake() noexcept = 0;
  // Accepts active messages with this id into the inbox, filtered by `filter`.
  virtual void listen_am(uint16_t am_id, AmFilter filter) = 0;
  // The next received message, or nullopt. Call progress() (or wait) to receive more.
  virtual std::optional<ReceivedAm> next_am() = 0;
  // An endpoint to the worker at `peer_address`. With `on_error` it uses peer error handling
  // (UCP_ERR_HANDLING_MODE_PEER) where a transport in UCX_TLS can detect peer failure (tcp, RDMA),
  // and none otherwise (UCX 1.13's shared memory cannot). Without `on_error`, none: beware that UCX
  // treats an error on such an endpoint (or on the peer's side of it) as fatal to the process.
  virtual std::unique_ptr<Endpoint> connect(std::span<const uint8_t> peer_address,
                                            PeerErrorFn on_error) = 0;
};

// ---- lanes (buffers.md 9.3 "Command lane", "Health lane") --------------------------------------

// AM ids of the lanes: each message is exactly one SLR3 frame (header = AM user header, payload =
// AM data).
inline constexpr uint16_t kAmCommandToRunner = 1;
inline constexpr uint16_t kAmCommandToParent = 2;
inline constexpr uint16_t kAmHealth = 3;
// A lane's close notice (the analogue of TCP's FIN): an empty AM whose 8-byte user header is the
// number of frames the closing side sent on the lane (u64 LE). The receiver fails its lane with
// PEER_CLOSED once it has received that many. Sent by close() on a connected command lane, so a
// peer learns of a deliberate close even where UCX cannot detect peer failure (shared memory).
inline constexpr uint16_t kAmLaneClosed = 4;

enum class LaneKind : uint8_t { COMMAND, HEALTH };
enum class LaneSide : uint8_t { PARENT, RUNNER };  // which end this process is (picks the AM ids)

struct LaneOptions {
  LaneKind kind = LaneKind::COMMAND;
  LaneSide side = LaneSide::PARENT;
  std::string name;                      // worker name, for error texts ("parent-command w3")
  uint32_t max_payload = 16u << 20;      // WIRE-3 payload maximum for inbound frames
  // Command lane: the sequence of the first inbound frame (0 when a HELLO comes first; 1 on the
  // runner without authentication, whose first parent frame is request 1).
  uint64_t first_sequence = 0;
  // Command lane: how far ahead of the expected sequence a frame may arrive (reorder buffer bound).
  uint64_t reorder_window = 64;
  // Who progresses the lane's worker. false: a progress thread of the lane, and the owner thread
  // exchanges frames with it through queues (two thread hand-offs per frame). true: the owner thread
  // itself, inside its calls (post, poll, receive, wait_sent, connect, prepare_wait); the owner
  // calls prepare_wait() before each sleep on wait_fd(), which then becomes readable on worker
  // events as well as on frames, so a reactor on it must call poll() on every wake-up. Saves both
  // hand-offs per frame; the worker is progressed only while the owner calls.
  bool owner_driven = false;
};

// One lane's UCP worker and endpoint, progressed by a progress thread of the lane (the only thread
// that touches the worker then; the owner exchanges frames with it through queues) or, with
// LaneOptions::owner_driven, by the owner thread inside its calls. Every method here is called by
// one owner thread (plus any thread for wait_fd()'s descriptor).
// Failure is sticky: the first cause is kept, and then every call but failure()/close() throws it.
class Lane {
 public:
  virtual ~Lane() = default;  // close()
  // The lane worker's UCP address (ucp_worker_get_address), for the manifest / bootstrap reply.
  virtual std::vector<uint8_t> address() const = 0;
  // Creates the endpoint to the peer worker at `peer_address`, with peer error handling when a
  // transport in UCX_TLS provides it (detects_peer_failure()). Frames posted before are sent once
  // connected; frames the peer sends are received from creation on.
  virtual void connect(std::span<const uint8_t> peer_address, Deadline deadline) = 0;
  virtual bool connected() const = 0;
  // Whether the endpoint uses peer error handling. False when UCX_TLS offers no transport that can
  // detect a dead peer (shared memory only): the lane then fails on a dead peer only through its
  // user's deadlines (the health expiry).
  virtual bool detects_peer_failure() const = 0;
  // Whether the endpoint does RMA in the transport (an RDMA lane), so a peer's put or get on this
  // process's memory needs nothing from this process. False where UCX emulates RMA with messages
  // that this process serves (tcp, shared memory): on UCX 1.13 a failure of the endpoint while it
  // serves one aborts the process. Known once connected.
  virtual bool offloads_rma() const = 0;
  // Queues one whole encoded frame (header checked by the caller); returns its ticket.
  virtual uint64_t post(std::vector<uint8_t> frame) = 0;
  // Blocks until every frame up to `ticket` has been sent (locally complete), or throws.
  virtual void wait_sent(uint64_t ticket, Deadline deadline) = 0;
  // Frames posted but not yet locally complete.
  virtual size_t unsent() const = 0;
  // The next inbound frame in lane order (header + payload, header validated), or nullopt.
  virtual std::optional<std::vector<uint8_t>> poll() = 0;
  // poll() that blocks until a frame, the failure, or the deadline (nullopt then).
  virtual std::optional<std::vector<uint8_t>> receive(Deadline deadline) = 0;
  // Readable while poll() has a frame or the lane has failed; owner-driven, also on worker events
  // (after prepare_wait()).
  virtual int wait_fd() const noexcept = 0;
  // Owner-driven: call right before sleeping on wait_fd(). Finishes what UCX has in hand and arms
  // the worker, so that wait_fd() wakes the owner on the next event (an event since an earlier arm
  // has made it readable already); false when a frame taken out of UCX (or the failure) is
  // waiting, in which case wait_fd() is readable too. post() and poll() do not arm: arming costs
  // system calls, and only the last call before a sleep needs it. With a progress thread it
  // returns whether poll() has nothing.
  virtual bool prepare_wait() = 0;
  // The first failure, if any.
  virtual std::optional<TransportError> failure() const = 0;
  // Fails the lane from outside (a deadline the owner saw pass); keeps an earlier cause.
  virtual void fail(TransportErrc code, const std::string& message) = 0;
  // Stops the progress thread and force-closes the endpoint and the worker. Idempotent.
  virtual void close() noexcept = 0;
  // Test hook: sends one raw active message (no frame checks, no ordering) on the lane's endpoint.
  virtual void post_raw_for_test(uint16_t am_id, std::vector<uint8_t> header, std::vector<uint8_t> data) = 0;
};

class Context {
 public:
  virtual ~Context() = default;
  // A lane with its own worker and progress thread, listening for its inbound AM id at once.
  virtual std::unique_ptr<Lane> create_lane(const LaneOptions& options) = 0;
  // A worker in UCS_THREAD_MODE_SINGLE, to be owned by the calling thread.
  virtual std::unique_ptr<Worker> create_worker(const std::string& name) = 0;
  virtual std::unique_ptr<Registration> register_memory(void* base, size_t bytes) = 0;
};

class Module {
 public:
  virtual uint32_t abi_version() const noexcept = 0;
  // "1.13.1": the libucp version in use.
  virtual std::string ucx_version() const = 0;
  // The one UCP context of this process, created on the first call. UCX reads its environment
  // (UCX_TLS, UCX_NET_DEVICES, ...) and may start threads now, so call it only after any fork.
  virtual std::shared_ptr<Context> context() = 0;

 protected:
  ~Module() = default;  // static inside the module; never deleted by callers
};

}  // namespace echelon::transport::ucx
