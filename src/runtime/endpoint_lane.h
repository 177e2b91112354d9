// The engine-side partner of one endpoint (RT-606). Not a thread: the Scheduler thread drives every
// lane. It assigns dispatch ids, tracks capacity and in-flight work, and is the endpoint's Waker.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "echelon/endpoint.h"
#include "runtime/wake_signal.h"

namespace echelon {

class EndpointLane final : public Waker {
 public:
  struct Running {
    uint64_t dispatch_id;
    uint32_t slot;
    uint32_t member;
    Clock::time_point started;
  };

  EndpointLane(uint32_t index, std::unique_ptr<WorkerEndpoint> endpoint, WakeSignal& signal)
      : index_(index), endpoint_(std::move(endpoint)), caps_(endpoint_->caps()), signal_(signal) {}

  void wake() noexcept override {
    has_events_.store(true, std::memory_order_release);
    signal_.notify();
  }
  bool take_events() { return has_events_.exchange(false, std::memory_order_acq_rel); }

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
  WakeSignal& signal_;
  std::atomic<bool> has_events_{false};
  std::atomic<bool> failed_{false};
};

}  // namespace echelon
