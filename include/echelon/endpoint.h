// The one boundary between the engine and a child, local or remote (runtime.md section 6).
// Mailboxes, sockets and processes stay behind it; the Scheduler only sees this interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "echelon/buffer.h"
#include "echelon/call_config.h"
#include "echelon/callable.h"
#include "echelon/ids.h"
#include "echelon/remote_buffer.h"
#include "echelon/tensor.h"

namespace echelon {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

enum class EndpointKind : uint8_t { IN_PROCESS, LOCAL_MAILBOX, REMOTE_L3 };
enum class EndpointRole : uint8_t { NEXT_LEVEL, SUB };
const char* to_string(EndpointKind k);

// Logical capabilities only: no fds, addresses, peers or transport handles (RT-601).
struct EndpointCaps {
  EndpointKind kind = EndpointKind::IN_PROCESS;
  EndpointRole role = EndpointRole::NEXT_LEVEL;
  WorkerId worker_id = kNoWorker;  // kNoWorker for SUB lanes
  int level = 0;                   // level of the child (diagnostics)
  bool remote = false;
  std::string host = "local";      // diagnostics: "local" or the remote host
  std::vector<CallableKind> callable_kinds;
  std::vector<TargetNamespace> scopes;
  std::vector<AddressSpace> address_spaces;
  std::vector<BackendKind> backing_kinds;
  uint32_t max_inflight = 1;

  bool accepts(CallableKind k) const;
  bool accepts(TargetNamespace s) const;
  bool consumes(const BufferDescriptor& d) const;
};

// One member handed to an endpoint. The pointed-to data lives in the engine's task slot and is valid
// only for the duration of submit(): an endpoint copies (or encodes) what it needs there, because
// the engine may settle the dispatch on its own (timeout, stop) and recycle the slot while the
// child is still busy.
struct DispatchRequest {
  uint64_t dispatch_id = 0;  // unique per lane; echoed in the event
  uint32_t group_index = 0;
  uint64_t run_id = 0;
  uint32_t slot_index = 0;
  const CallableIdentity* callable = nullptr;
  const CallConfig* config = nullptr;
  const std::vector<Tensor>* tensors = nullptr;  // tags are gone (RT-207)
  const std::vector<uint64_t>* scalars = nullptr;
  // Sidecars of remote tensor arguments (buffers.md 4); null or empty when no argument is remote.
  // Only a REMOTE_L3 endpoint accepts a non-empty one.
  const RemoteArgs* remote = nullptr;
};

// Terminal event of one dispatch; never implied success (RT-603).
struct EndpointEvent {
  uint64_t dispatch_id = 0;
  Outcome outcome = Outcome::ENDPOINT_FAILURE;
  std::string message;  // bounded, UTF-8
};

struct ControlRequest {
  std::string name;  // e.g. "register", "unregister", "echo"
  std::vector<uint8_t> payload;
  uint32_t version = 1;  // remote controls: the protocol's control_version (2: ucx RMA copies)
};

struct ControlReply {
  bool ok = false;
  std::vector<uint8_t> payload;
  std::string error;
  // True when the control may have taken effect although it failed (sent, then timed out): the
  // endpoint is then FAILED (RT-605).
  bool uncertain = false;
};

// Pushed by an endpoint whenever poll() has something new (a completion, a failure). Thread-safe,
// cheap, never blocks. The Scheduler parks on it instead of spinning (RT-406).
class Waker {
 public:
  virtual ~Waker() = default;
  virtual void wake() noexcept = 0;
};

struct EndpointHealth {
  bool ready = true;
  std::string reason;  // why it FAILED
};

// What a process-backed endpoint gets when it starts its child (before any engine thread runs).
struct LaunchContext {
  // Rung by the child when it has news for the parent; valid in the child after fork.
  const void* doorbell = nullptr;  // a `const Doorbell*` (src/core/wake_signal.h)
  Deadline deadline{};             // the root startup deadline (RT-705)
};

class WorkerEndpoint {
 public:
  virtual ~WorkerEndpoint() = default;

  // Process-backed endpoints fork their child here. The engine calls it while the process is
  // still single-threaded (RT-704); in-process endpoints do nothing.
  virtual void launch(const LaunchContext& context) { (void)context; }
  // Blocks until the child reported ready; throws naming the child and cause (RT-705).
  virtual void await_ready(Deadline deadline) { (void)deadline; }
  // A file descriptor that becomes readable when the child dies (a pidfd), or -1.
  virtual int liveness_fd() const { return -1; }

  virtual const EndpointCaps& caps() const = 0;
  // Called once by the engine before any submit; the endpoint keeps the pointer until shutdown.
  virtual void attach(Waker* waker) = 0;
  // Non-blocking hand-off of one member. May throw: the engine turns that into ENDPOINT_FAILURE.
  virtual void submit(const DispatchRequest& request) = 0;
  // Non-blocking progress: appends terminal events to `out`, returns how many.
  virtual size_t poll(std::vector<EndpointEvent>& out) = 0;
  virtual EndpointHealth health() const = 0;
  // Synchronous, ordered after every task submitted before it (RT-604). Never throws for an
  // endpoint-side failure: the reply says so.
  virtual ControlReply control(const ControlRequest& request, Deadline deadline) = 0;
  // Idempotent and sticky: the endpoint becomes FAILED, in-flight work ends ENDPOINT_FAILURE.
  virtual void request_stop(const std::string& reason) = 0;
  // Releases the child; bounded by `deadline`.
  virtual void shutdown(Deadline deadline) = 0;
};

}  // namespace echelon
