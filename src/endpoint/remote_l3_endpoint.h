// A remote L3 session seen from its parent (runtime.md section 9, protocol.md 5-13): the
// WorkerEndpoint behind Worker::add_remote_worker. launch() bootstraps the session with the daemon,
// await_ready() connects the command and health lanes and admits the runner's HELLO READY,
// attach() starts the one I/O thread that owns both lanes from then on.
//
// Threading: the engine's Scheduler calls submit/poll/health/request_stop, user threads call
// control(); the I/O thread alone touches the lanes between attach() and shutdown(). They meet in
// `mu_` (the command-lane state, the queue, the outbox, the failure and the pending events), in
// `control_cv_` (a control's caller waiting for its reply) and in the reactor's wake().
//
// Ordering: the command lane is single-flight (protocol.md 11.2). TASKs and CONTROLs join one FIFO
// queue in the order submit()/control() were called and go on the wire one at a time, each after
// the previous reply, so a control is ordered after every task submitted before it (RT-604).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "echelon/chip_callable.h"
#include "echelon/endpoint.h"
#include "echelon/remote_worker.h"
#include "endpoint/remote_session_open.h"
#include "remote/manifest.h"
#include "transport/reactor.h"
#include "wire/buffer_controls.h"
#include "wire/command_lane.h"

namespace echelon {

class RemoteL3Endpoint final : public WorkerEndpoint {
 public:
  // Validates `spec` and reads the secret file (if any) at once; creates no socket or thread.
  RemoteL3Endpoint(const RemoteWorkerSpec& spec, WorkerId worker_id, int parent_level);
  ~RemoteL3Endpoint() override;

  // A dispatcher entry for the manifest (before launch only); duplicates are ignored.
  void add_dispatcher_entry(const RemoteCallable& callable);
  // A chip kernel or plugin sub entry for the runner's inner Worker (manifest.inner_l3_worker,
  // before launch only); duplicates are ignored.
  void add_inner_entry(const RemoteCallable& callable);
  const std::string& name() const { return name_; }

  const EndpointCaps& caps() const override { return caps_; }
  void launch(const LaunchContext& context) override;
  void await_ready(Deadline deadline) override;
  void attach(Waker* waker) override;
  void submit(const DispatchRequest& request) override;
  size_t poll(std::vector<EndpointEvent>& out) override;
  EndpointHealth health() const override;
  ControlReply control(const ControlRequest& request, Deadline deadline) override;
  // control() for bulk bytes without copying them (BUF-8 copy chunks): the command is
  // `request.payload` followed by `tail`, which is written to the socket straight from the caller's
  // memory; when `result_into` is not empty, an OK reply's result must be exactly that long and is
  // written straight into it (the reply's payload then stays empty; another length is a failed
  // reply that writes nothing). Same ordering, deadlines and failure semantics as control(). Returns
  // only once the endpoint references neither span any more: a borrowed frame still being written
  // when the call fails is dropped by closing the command lane (the endpoint is FAILED then anyway).
  ControlReply control_borrowed(const ControlRequest& request, std::span<const uint8_t> tail,
                                std::span<uint8_t> result_into, Deadline deadline);
  // ucx: whether a copy of `bytes` moves by RMA (protocol.md 9.2 version 2) instead of in frames:
  // above ucx_inline_copy_max, when the command lane is a safe RMA target for the runner
  // (FrameChannel::safe_rma_target: RDMA lanes, or shared memory only). Over tcp UCX 1.13 emulates
  // RMA through the parent and aborts it if the runner dies meanwhile, so copies stay in frames.
  bool copies_by_rma(uint64_t bytes) const noexcept;
  // One version-2 COPY_TO_REMOTE (the runner gets from `memory`) or COPY_FROM_REMOTE (it puts into
  // `memory`); `request`'s peer fields are filled here. `memory` is registered for the runner's
  // RMA until the reply; when the call fails without one, the command lane (the worker the runner
  // reaches `memory` through) is closed before this returns, so nothing writes there afterwards.
  ControlReply copy_by_rma(wire::ControlName name, wire::CopyRmaRequest request, std::span<std::byte> memory,
                           Deadline deadline);
  void request_stop(const std::string& reason) override;
  void shutdown(Deadline deadline) override;

 private:
  // control_borrowed(); `rma` marks a version-2 copy, whose caller memory stays borrowed until the
  // reply or until the I/O thread has closed the command lane.
  ControlReply run_control(const ControlRequest& request, std::span<const uint8_t> tail,
                           std::span<uint8_t> result_into, Deadline deadline, bool rma);

  // I/O thread.
  void io_main();
  void pump_command();
  void pump_health();
  void flush_outbox();
  void check_timers(Clock::time_point now);
  std::chrono::milliseconds next_timer(Clock::time_point now) const;
  void lanes_broken(const std::string& reason);

  // A TASK or CONTROL waiting for the lane: the payload is encoded (and validated) at once, the
  // header only when its turn comes, because the sequence is consumed only by a frame that is
  // really sent (protocol.md 11.1).
  struct ControlCall;
  struct QueuedCommand {
    wire::CommandKind kind = wire::CommandKind::TASK;
    std::vector<uint8_t> payload;
    uint64_t dispatch_id = 0;              // TASK
    std::shared_ptr<ControlCall> control;  // CONTROL
  };

  // Puts the head of `queued_` on the wire (into the outbox) when the lane is idle and healthy;
  // true when a frame was queued for the I/O thread.
  bool send_next_locked();
  void settle_control_locked(ControlCall& call, ControlReply reply);
  // The transport no longer references a borrowed tail (written, or dropped).
  void release_borrow(ControlCall& call) noexcept;
  void release_borrow_locked(ControlCall& call) noexcept;
  // Waits (bounded) until the transport no longer references the call's borrowed tail.
  void await_release_locked(std::unique_lock<std::mutex>& lock, ControlCall& call, Deadline deadline);
  // The reply of a control that could not be sent or answered; names the endpoint and the control.
  ControlReply failed_control(std::string text, bool uncertain) const;

  // Makes the endpoint FAILED (sticky): the in-flight and queued tasks end ENDPOINT_FAILURE, the
  // in-flight and queued controls get failed replies. Returns true when this call did it, so the
  // caller rings the waker (outside mu_).
  bool fail_locked(const std::string& reason);
  void wake_engine() noexcept;
  void stop_io() noexcept;
  void close_lanes() noexcept;
  void send_shutdown_and_wait(Deadline deadline);

  RemoteWorkerSpec spec_;
  WorkerId worker_id_;
  int parent_level_;
  EndpointCaps caps_;
  std::string name_;  // "remote worker 1 at 127.0.0.1:19073", the prefix of every error
  transport::EndpointAddress daemon_;
  std::optional<transport::Secret> secret_;
  std::vector<remote::ManifestEntry> entries_;
  std::vector<remote::ManifestEntry> inner_entries_;

  void bootstrap();

  remote::TransportProfile profile_ = remote::TransportProfile::HOST_TCP;
  // ucx: large copies use the version-2 RMA controls (set in await_ready; see copies_by_rma).
  bool rma_copies_ = false;
  remote::BootstrapManifest manifest_;
  bool launched_ = false;  // the manifest is built; entries are fixed
  Deadline startup_deadline_{};
  std::optional<BootstrappedSession> session_;
  AttachedLanes lanes_;  // owned by the I/O thread while it runs

  std::unique_ptr<transport::Reactor> reactor_;
  std::thread io_;
  std::atomic<bool> io_stop_{false};
  // I/O thread, inside the command lane's poll(): where an awaited COPY_FROM_REMOTE result goes.
  std::span<uint8_t> route_reply(const wire::FrameHeader& header, std::span<const uint8_t> prefix) noexcept;
  void release_routed_locked() noexcept;
  bool lanes_dead_ = false;  // I/O thread (then shutdown): a lane broke, nothing more can be sent
  Clock::time_point last_health_{};  // I/O thread only
  uint32_t command_interest_ = 0;    // I/O thread only: what the reactor watches on the command fd
  Waker* waker_ = nullptr;

  mutable std::mutex mu_;
  wire::CommandLane command_lane_{1};
  std::deque<QueuedCommand> queued_;         // waiting for the lane, oldest first
  // An encoded frame for the I/O thread to post; a borrowed control's frame ends with its tail.
  struct OutFrame {
    std::vector<uint8_t> head;
    std::shared_ptr<ControlCall> borrower;
  };
  std::deque<OutFrame> outbox_;  // frames for the I/O thread to post
  size_t borrows_out_ = 0;       // borrowed tails the transport may still reference
  // Set when the endpoint fails with a borrowed tail still unwritten: the I/O thread closes the
  // command lane, which drops the tail, so the waiting caller can return.
  std::atomic<bool> drop_borrowed_{false};
  // A COPY_FROM_REMOTE reply whose result the transport is receiving straight into its caller's
  // destination (route_reply): the call stays unreleased until the frame is complete or the I/O
  // thread stops reading the lane, so the caller's memory outlives every write into it.
  std::shared_ptr<ControlCall> routed_call_;
  // A version-2 copy on the wire: the runner may RMA into its memory until the reply, or until the
  // command lane is closed (release_rma_borrow_locked).
  std::shared_ptr<ControlCall> rma_borrower_;
  void release_rma_borrow_locked() noexcept;
  uint64_t in_flight_ = 0;                   // dispatch id of the TASK on the wire, 0 = none
  uint64_t in_flight_sequence_ = 0;
  std::optional<Deadline> in_flight_deadline_;  // task_timeout_s, when set
  std::shared_ptr<ControlCall> control_in_flight_;  // the CONTROL on the wire, if any
  std::condition_variable control_cv_;              // a control was settled
  bool failed_ = false;
  std::string failure_;
  std::vector<EndpointEvent> pending_;
};

}  // namespace echelon
