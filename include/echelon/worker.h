// echelon::Worker: one class for every level >= 3 (RT-101).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "echelon/chip_callable.h"
#include "echelon/endpoint.h"
#include "echelon/native_callable.h"
#include "echelon/options.h"
#include "echelon/orchestrator.h"
#include "echelon/remote_buffer.h"
#include "echelon/remote_worker.h"

namespace echelon {

class Worker;

// A submitted run. wait() may be retried after a timeout and replays the same result (RT-320).
class RunHandle {
 public:
  RunHandle() = default;
  uint64_t id() const;
  bool done() const;
  // Blocks until the run is terminal (or `timeout_s` passes: TimeoutError). Rethrows the
  // orchestration function's exception, or RunError with the root error.
  void wait(std::optional<double> timeout_s = std::nullopt) const;

 private:
  friend class Worker;
  RunHandle(Engine* engine, std::shared_ptr<RunState> run) : engine_(engine), run_(std::move(run)) {}
  Engine* engine_ = nullptr;
  std::shared_ptr<RunState> run_;
};

// How a child runs: in its own forked process (the default: isolated, crash-contained, reached
// through a shared-memory mailbox) or on a thread of this process (cheap; for tests, tools and
// callables that must share this process's memory).
enum class ChildIsolation { PROCESS, THREAD };

// A nested Worker child (level = parent level - 1). `setup` adds its own children and
// registrations (it runs now, in this process); `child_init` runs inside the child process after
// fork, before the child reports ready (throwing fails init).
struct ChildWorkerConfig {
  WorkerOptions options;
  std::function<void(Worker&)> setup;
  ChildIsolation isolation = ChildIsolation::PROCESS;
  std::function<void()> child_init;
};

// A simulated L2 chip child of a level-3 Worker.
struct ChipConfig {
  uint64_t arena_bytes = 64ull << 20;  // device memory, shared with the node for copies
};

struct WorkerStats {
  uint64_t tasks_submitted = 0;
  uint64_t tasks_completed = 0;
  uint64_t tasks_failed = 0;
  uint64_t dispatches = 0;
  uint64_t scheduler_passes = 0;  // loop iterations of the scheduler thread
  uint64_t live_slots = 0;        // task slots currently reserved
};

class Worker {
 public:
  explicit Worker(int level, WorkerOptions options = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int level() const;
  const WorkerOptions& options() const;

  // --- children (before init) ---
  // A nested Worker of level-1 running orchestration entries; needs level >= 4.
  WorkerId add_worker(ChildWorkerConfig config = {});
  // A SUB worker running sub entries.
  void add_sub(ChildIsolation isolation = ChildIsolation::PROCESS);
  // A simulated chip (level 3 only): a child process running CHIP_CALLABLE kernels, with its own
  // device-memory arena.
  WorkerId add_chip(ChipConfig config = {});
  // A NEXT_LEVEL child behind any endpoint implementation; the factory receives the stable id.
  WorkerId add_endpoint(const std::function<std::unique_ptr<WorkerEndpoint>(WorkerId)>& factory);
  void add_sub_endpoint(const std::function<std::unique_ptr<WorkerEndpoint>()>& factory);
  // A remote L3 session served by an echelon-remote-worker daemon (runtime.md section 9); needs
  // level >= 4. The spec is validated and its secret file read now; the session opens at init().
  WorkerId add_remote_worker(const RemoteWorkerSpec& spec);

  // --- callables ---
  // Installs on every local child of the matching entry kind; returns only after every child
  // confirmed (before init: at init). A second registration returns a distinct handle.
  CallableHandle register_callable(const NativeCallable& callable);
  // A chip kernel (LOCAL_CHIP): every chip child verifies and loads it before the handle returns.
  CallableHandle register_callable(const ChipCallable& callable);
  // A REMOTE_TASK_DISPATCHER entry (callables.md 5-6) on exactly `workers` (ids returned by
  // add_remote_worker: non-empty, no duplicates; needs level >= 4). Before init it travels in those
  // workers' bootstrap manifests; after init it is a two-phase registration (PREPARE on every
  // worker, then COMMIT on every worker) that returns only once all committed, and fails as a
  // whole (REGISTER_PARTIAL_FAILURE, nothing left installed) otherwise. A second registration
  // returns a distinct handle sharing the installed pairs; the handle runs on its workers only.
  CallableHandle register_callable(const RemoteCallable& callable, std::vector<WorkerId> workers,
                                   RegisterOptions options = {});
  // A callable for the inner L3 Worker of each of `workers` (INNER_L3_WORKER): a chip kernel
  // (RemoteCallable::chip) or a sub entry of a plugin (RemoteCallable::native). Same rules and
  // transaction as above; it never becomes a parent-facing handle: orchestration code on the
  // runner finds it by hashid (echelon::remote::inner_handle, or Orchestrator::callable(hashid)).
  InnerRegistration register_inner(const RemoteCallable& callable, std::vector<WorkerId> workers,
                                   RegisterOptions options = {});
  // Consumes a handle. For remote handles, a pair losing its last handle is tombstoned and its
  // UNREGISTER_CALLABLE goes out once no submitted task references it; a remote cleanup failure is
  // logged and leaves the pair tombstoned (callable_state), it does not throw.
  void unregister(const CallableHandle& handle);
  void unregister(const InnerRegistration& registration);
  // The parent's state of one (worker, hashid) pair of a remote registry.
  CallableState callable_state(WorkerId worker, std::string_view hashid,
                               RemoteRegistry registry = RemoteRegistry::DISPATCHER) const;

  // --- lifecycle ---
  // The single start-up point: forks every child process of the whole subtree before any thread
  // starts, waits for all of them under one startup deadline, then starts the Schedulers. On any
  // failure everything is rolled back (children killed and reaped) and the error names the child.
  void init();
  bool initialized() const;
  // Opens a run, calls fn on this thread, closes submission (RT-320).
  RunHandle submit(const std::function<void(Orchestrator&)>& fn);
  void run(const std::function<void(Orchestrator&)>& fn, std::optional<double> timeout_s = std::nullopt);
  // The recursive shape every level shares: fn(orch, args, config) (RT-103).
  void run(const OrchFn& fn, const TaskArgs& args, const CallConfig& config);
  // Waits for every open run, then raises the first error among them and among the runs that
  // failed and finished since the last drain() without being waited on through their RunHandle.
  void drain(std::optional<double> timeout_s = std::nullopt);
  // Stops admission, fails in-flight work, stops and releases every child. Idempotent.
  void close();

  // --- children at run time ---
  ControlReply control(WorkerId worker, const ControlRequest& request,
                       std::optional<double> timeout_s = std::nullopt);
  EndpointHealth health(WorkerId worker) const;
  WorkerStats stats() const;
  // --- device memory of chip children ---
  // Allocates `nbytes` in chip `chip`'s arena; tensors over it are eligible only on that chip.
  BufferDescriptor chip_malloc(WorkerId chip, uint64_t nbytes);
  void chip_free(const BufferDescriptor& device_buffer);
  // Copies between host memory and a chip buffer (the arena is mapped in this process too).
  void copy_to_chip(const BufferDescriptor& dst, uint64_t offset, const void* src, uint64_t nbytes);
  void copy_from_chip(void* dst, const BufferDescriptor& src, uint64_t offset, uint64_t nbytes);

  // --- remote memory (level >= 4; buffers.md 3 and 6) ---
  // Every call checks its arguments before anything is sent and throws std::invalid_argument or
  // std::out_of_range naming the rule; a runner's refusal is a ControlError. `worker` is an id
  // returned by add_remote_worker().
  // Allocates `nbytes` (> 0, zero-filled) owned by remote worker `worker`.
  RemoteBufferHandle remote_malloc(WorkerId worker, uint64_t nbytes);
  // Copies into / out of an owner handle's range at `offset`; returns once the runner confirmed.
  // Large copies go in chunks with no task dispatched to that worker in between.
  void remote_copy_to(const RemoteBufferHandle& dst, uint64_t offset, std::span<const std::byte> src);
  void remote_copy_from(const RemoteBufferHandle& src, uint64_t offset, std::span<std::byte> dst);
  // Releases an owner handle now (new uses are refused) and frees the remote allocation once no
  // submitted task references it any more: at once when nothing does, otherwise when a run that
  // held it has been waited for, at the next remote_* call, or at close(). Idempotent.
  void remote_free(const RemoteBufferHandle& owner);
  // Makes [offset, offset + nbytes) of a live owner handle importable with at most `access`
  // (REMOTE_ACCESS_* bits, non-empty). The export is bound to this Worker and to that allocation,
  // and needs no release of its own.
  RemoteBufferExport remote_export(const RemoteBufferHandle& owner, uint64_t offset, uint64_t nbytes, uint32_t access);
  // Maps an export into remote worker `importer` (not the owner) with `requested` access (a
  // non-empty subset of the export's) and returns the imported handle, which tasks on `importer`
  // use. The owner's free waits until every import of it is released. host_tcp imports need owner
  // and importer on one host; across hosts the import fails ("needs an RMA-capable profile").
  RemoteBufferHandle remote_import(const RemoteBufferExport& exported, WorkerId importer,
                                   uint32_t requested = REMOTE_ACCESS_READ);
  // One import per worker of `importers`, all or nothing: when one fails, the others made are
  // released again before the error is thrown (an unconfirmed release leaves only that
  // importer/buffer pair unusable for new tasks, and the owner pinned, until the session ends).
  std::vector<RemoteBufferHandle> remote_import(const RemoteBufferExport& exported, const std::vector<WorkerId>& importers,
                                                uint32_t requested);
  // Releases an imported handle now (new uses are refused) and unmaps it on the importer once no
  // submitted task references it (the same flush points as remote_free). Idempotent.
  void remote_release_import(const RemoteBufferHandle& imported);

  // Process ids of this Worker's direct child processes (diagnostics; empty before init).
  std::vector<int> child_pids() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  void launch_tree(Deadline deadline);
  void await_tree(Deadline deadline);
  void start_tree(Deadline deadline);
};

}  // namespace echelon
