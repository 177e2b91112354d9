// The per-Worker engine: slots, runs and dependency state (the Orchestrator's side) and the
// Scheduler thread that routes, dispatches and retires them. One mutex guards all DAG state; no
// lock is held while user work runs or while an endpoint is called.
#pragma once

#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "echelon/options.h"
#include "echelon/orchestrator.h"
#include "runtime/callable_registry.h"
#include "runtime/endpoint_lane.h"
#include "runtime/heap_ring.h"
#include "runtime/run_state.h"
#include "runtime/slot_pool.h"
#include "runtime/task_slot.h"
#include "core/shared_mapping.h"
#include "core/wake_signal.h"

namespace echelon {

struct SubmitSpec {
  const CallableHandle* handle = nullptr;
  std::vector<TaskArgs> args;  // one per member
  const CallConfig* config = nullptr;
  std::vector<WorkerId> targets;  // NEXT_LEVEL: one per member; empty for SUB
  bool is_sub = false;
  bool is_group = false;
  const char* api = "submit";  // for messages
};

struct EngineCounters {
  uint64_t submitted = 0, completed = 0, failed = 0, dispatches = 0, passes = 0, live_slots = 0;
};

class Engine {
 public:
  Engine(int level, const WorkerOptions& options, CallableRegistry& registry);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  int level() const { return level_; }
  const WorkerOptions& options() const { return options_; }
  // Names this engine's Worker in the remote buffer records it creates, so a handle minted by
  // another Worker is refused here (its worker ids mean other sessions).
  uint64_t remote_issuer() const { return remote_issuer_; }

  // --- set-up, before start() ---
  uint32_t add_lane(std::unique_ptr<WorkerEndpoint> endpoint);
  // Start-up in three phases so every fork happens before any thread (RT-704/705): launch forks
  // process-backed children, await_ready waits for their INIT_READY, start attaches every endpoint
  // and starts the Scheduler (and the child watcher when there are child processes).
  void launch(Deadline deadline);
  void await_ready(Deadline deadline);
  void start();
  bool started() const { return started_; }
  // Stops admission, stops every endpoint, drains completions, joins the Scheduler, shuts the
  // endpoints down within close_grace. Idempotent.
  void stop();

  // --- lanes ---
  size_t lane_count() const { return lanes_.size(); }
  EndpointLane& lane(uint32_t index) { return *lanes_[index]; }
  const EndpointLane& lane(uint32_t index) const { return *lanes_[index]; }
  // Lane index of a NEXT_LEVEL worker id, or -1.
  int lane_of(WorkerId id) const;
  std::vector<uint32_t> lanes_with_role(EndpointRole role) const;
  // Runs `request` on the lane, ordered after its in-flight task (RT-604).
  ControlReply control(uint32_t lane, const ControlRequest& request, Deadline deadline);

  // Holds a lane for a sequence of controls (BUF-8 chunked copies): from construction until
  // destruction no task is handed to the lane, so the controls reach the child back to back.
  // Construction waits for a hand-off the Scheduler already claimed to finish.
  class LaneHold {
   public:
    LaneHold(const LaneHold&) = delete;
    LaneHold& operator=(const LaneHold&) = delete;
    ~LaneHold();
    ControlReply control(const ControlRequest& request, Deadline deadline);

   private:
    friend class Engine;
    LaneHold(Engine& engine, EndpointLane& lane);
    Engine& engine_;
    EndpointLane& lane_;
  };
  LaneHold hold_lane(uint32_t lane) { return LaneHold(*this, *lanes_.at(lane)); }

  // Called (outside the engine lock, on the waiting thread) each time a wait for a run returns,
  // whatever its outcome: the Worker flushes owed remote frees there. Set before start().
  void set_run_waited_hook(std::function<void()> hook) { run_waited_hook_ = std::move(hook); }
  EndpointHealth health(uint32_t lane);

  // --- runs ---
  std::shared_ptr<RunState> open_run();
  // Ends the outer scope and closes submission; if fn threw, cancels unstarted slots (RT-322).
  void close_run(RunState& run, std::exception_ptr fn_error);
  void wait_run(const std::shared_ptr<RunState>& run, std::optional<double> timeout_s);
  bool run_terminal(const RunState& run);
  void drain(std::optional<double> timeout_s);

  // --- Orchestrator side ---
  SubmitResult submit(RunState& run, SubmitSpec&& spec);
  Tensor alloc(RunState& run, std::span<const uint32_t> shape, DataType dtype);
  size_t open_scope(RunState& run);
  void close_scope(RunState& run, size_t depth);
  size_t scope_depth(RunState& run);
  TaskState state_of(const RunState& run, const TaskRef& ref);

  EngineCounters counters();
  CallableHandle lookup_handle(const Digest& digest) const { return registry_.lookup(digest); }

 private:
  // Submission (engine_submit.cpp).
  struct Prepared;
  void validate(const SubmitSpec& spec, Prepared& out) const;
  void validate_member(const SubmitSpec& spec, const CallableRegistry::Resolved& handle, size_t m, int lane) const;
  std::string eligible_set(const CallableRegistry::Resolved& handle, const TaskArgs& args) const;
  TaskSlot& reserve(std::unique_lock<std::mutex>& lock, RunState& run, uint64_t heap_bytes, int ring, HeapSlab& slab);
  void wire_dependencies(RunState& run, TaskSlot& slot, const std::vector<TaskArgs>& args, bool& poisoned,
                         uint32_t& poison_source);
  void throw_if_failed(const RunState& run) const;

  // Retirement (engine_retire.cpp).
  void on_member_terminal(TaskSlot& slot, uint32_t member, Outcome outcome, const std::string& message);
  void fail_unstarted(TaskSlot& slot, Outcome outcome, const std::string& message);
  void finish(TaskSlot& slot);
  void release_ref(TaskSlot& slot);
  void consume(TaskSlot& slot);
  void cancel_unstarted(RunState& run);
  void record_failure(RunState& run, const std::string& message);
  void check_run_terminal(RunState& run);
  std::string root_error_text(const TaskSlot& slot, uint32_t member, Outcome outcome, const std::string& msg) const;

  // Scheduling (scheduler.cpp).
  struct PendingDispatch {
    uint32_t lane;
    DispatchRequest request;
  };
  void scheduler_main();
  void route(TaskSlot& slot);
  void dispatch_ready(std::vector<PendingDispatch>& out);
  void claim_member(TaskSlot& slot, uint32_t member, EndpointLane& lane, std::vector<PendingDispatch>& out);
  void handle_event(EndpointLane& lane, const EndpointEvent& event);
  void fail_lane(EndpointLane& lane, const std::string& reason);
  void fail_lane_queues(EndpointLane& lane);
  std::optional<Deadline> check_task_timeouts(Clock::time_point now);
  RunState* dispatching_run();
  TaskSlot* ready_slot(QueueRef ref);
  bool any_sub_lane_alive() const;

  static constexpr uint32_t kMaxLanes = 1024;
  // The Scheduler's wake signal and the lanes' event flags, in memory shared across fork so child
  // processes can ring them.
  struct WakeRegion {
    WakeSignal signal;
    std::atomic<uint32_t> lane_flags[kMaxLanes];
  };
  void watch_children();

  const int level_;
  const WorkerOptions options_;
  const uint64_t remote_issuer_;
  CallableRegistry& registry_;
  SharedMapping wake_region_;
  WakeSignal& wake_;
  std::thread watcher_;  // turns a child's pidfd firing into a wake of its lane
  int watcher_stop_fd_ = -1;
  bool launched_ = false;

  std::mutex mu_;                    // guards everything below that is not atomic
  std::condition_variable run_cv_;   // run terminal / admission
  std::condition_variable space_cv_; // slot pool or heap ring released
  uint32_t space_waiters_ = 0;
  SlotPool slots_;
  std::array<std::unique_ptr<HeapRing>, MAX_RING_DEPTH> heap_rings_;
  std::deque<std::shared_ptr<RunState>> runs_;  // open runs in admission order
  // Runs that failed and finished before anyone waited on them: drain() still raises their error.
  std::deque<std::shared_ptr<RunState>> failed_unwaited_;
  uint64_t next_run_id_ = 1;
  bool closing_ = false;
  EngineCounters counters_;

  std::vector<std::unique_ptr<EndpointLane>> lanes_;
  std::vector<int> lane_by_worker_;  // WorkerId -> lane index
  std::vector<uint32_t> sub_lanes_;
  std::vector<uint32_t> next_level_lanes_;

  std::function<void()> run_waited_hook_;
  void after_run_waited() noexcept;

  std::atomic<bool> stop_requested_{false};
  bool started_ = false;
  bool stopped_ = false;
  std::thread scheduler_;

  // Scratch reused by submit and retire (engine lock held).
  std::vector<std::pair<uint32_t, EdgeKind>> scratch_edges_;
  std::vector<uint32_t> retire_worklist_;
  bool in_finish_ = false;
  std::vector<bool> reserved_;  // lanes reserved by the blocked group head (this pass)
  std::vector<uint32_t> scratch_lanes_;
  // Stall episode of a blocked group head whose reserved targets sit idle (RT-403).
  struct StallEpisode {
    QueueRef head{UINT32_MAX, 0};
    Clock::time_point since{};
    bool warned = false;
  } stall_;
  void note_blocked_group(const TaskSlot& head, const RunState& run);
};

}  // namespace echelon
