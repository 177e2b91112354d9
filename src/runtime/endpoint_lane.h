// The engine-side partner of one endpoint (RT-606). Not a thread: the Scheduler thread drives every
// lane. It assigns dispatch ids, tracks capacity and in-flight work, and is the endpoint's Waker.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "echelon/endpoint.h"
#include "core/wake_signal.h"

namespace echelon {

class EndpointLane final : public Waker {
 public:
  struct Running {
    uint64_t dispatch_id;
    uint32_t slot;
    uint32_t member;
    Clock::time_point started;
  };

  // `event_flag` and `signal` live in memory shared across fork, so a child process can ring them.
  EndpointLane(uint32_t index, std::unique_ptr<WorkerEndpoint> endpoint, std::atomic<uint32_t>& event_flag,
               WakeSignal& signal)
      : index_(index), endpoint_(std::move(endpoint)), caps_(endpoint_->caps()), has_events_(event_flag),
        doorbell_{&event_flag, &signal} {}

  void wake() noexcept override { doorbell_.ring(); }
  bool take_events() { return has_events_.exchange(0, std::memory_order_acq_rel) != 0; }
  const Doorbell& doorbell() const { return doorbell_; }

  uint32_t index() const { return index_; }
  WorkerEndpoint& endpoint() { return *endpoint_; }
  const EndpointCaps& caps() const { return caps_; }
  bool is_sub() const { return caps_.role == EndpointRole::SUB; }
  WorkerId worker_id() const { return caps_.worker_id; }

  // Sticky FAILED state as the engine sees it (set on the scheduler thread, read at submit).
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  void mark_failed() { failed_.store(true, std::memory_order_release); }
  std::string failure_reason;  // guarded by the engine lock
  bool queues_drained = false;  // queued work was failed after the lane failed

  // Controls in flight keep the lane busy so no task is dispatched past them (RT-604).
  std::atomic<int> controls_pending{0};
  // Members claimed for this lane whose endpoint submit() has not returned yet. A LaneHold waits
  // for it to reach 0, so a hand-off claimed before the hold cannot land between its controls.
  std::atomic<uint32_t> handoffs_in_progress{0};

  // Scheduler-thread state.
  std::vector<Running> running;
  uint64_t next_dispatch_id = 1;

  // Can take one more task now (pipelined endpoints queue it behind their running work).
  bool has_capacity() const {
    return !failed() && controls_pending.load(std::memory_order_acquire) == 0 &&
           running.size() < caps_.max_inflight;
  }
  // Nothing in flight: what a group member needs, so all members start together.
  bool idle() const { return has_capacity() && running.empty(); }

 private:
  uint32_t index_;
  std::unique_ptr<WorkerEndpoint> endpoint_;
  EndpointCaps caps_;
  std::atomic<uint32_t>& has_events_;
  Doorbell doorbell_;
  std::atomic<bool> failed_{false};
};

}  // namespace echelon
