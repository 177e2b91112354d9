// Builds a run's DAG on the thread running the orchestration function (runtime.md section 3).
#pragma once

#include <initializer_list>
#include <string_view>
#include <vector>

#include "echelon/call_config.h"
#include "echelon/ids.h"
#include "echelon/native_callable.h"
#include "echelon/task_args.h"
#include "echelon/tensor.h"

namespace echelon {

class Engine;
struct RunState;
class ChipCallable;

struct SubmitResult {
  TaskRef task;
  std::vector<Tensor> outputs;  // materialised unbound OUTPUTs, in argument order
};

class Orchestrator;

// Ends its scope on destruction: the scope's tasks drop their scope reference (RT-316).
class ScopeGuard {
 public:
  ScopeGuard(ScopeGuard&& other) noexcept : orch_(other.orch_), depth_(other.depth_) { other.orch_ = nullptr; }
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ScopeGuard& operator=(ScopeGuard&&) = delete;
  ~ScopeGuard();
  // Ends the scope now (idempotent).
  void end();

 private:
  friend class Orchestrator;
  ScopeGuard(Orchestrator* orch, size_t depth) : orch_(orch), depth_(depth) {}
  Orchestrator* orch_;
  size_t depth_;
};

class Orchestrator {
 public:
  // Submits one task to exactly `target`. Throws SubmitError (nothing committed) when invalid,
  // RunError when the run already failed, BackPressureTimeout when the ring stays full.
  SubmitResult submit_next_level(const CallableHandle& callable, TaskArgs args, const CallConfig& config,
                                 WorkerId target);
  // One DAG node of N members; member i runs args[i] on targets[i] (RT-302).
  SubmitResult submit_next_level_group(const CallableHandle& callable, std::vector<TaskArgs> args,
                                       const CallConfig& config, const std::vector<WorkerId>& targets);
  SubmitResult submit_sub(const CallableHandle& callable, TaskArgs args);
  SubmitResult submit_sub_group(const CallableHandle& callable, std::vector<TaskArgs> args);

  // A heap-ring tensor written by nobody yet: a synthetic COMPLETED writer of the whole backing,
  // reclaimed after its scope ends and its last consumer is consumed (RT-309).
  Tensor alloc(std::initializer_list<uint32_t> shape, DataType dtype);

  // The handle of a callable registered on the Worker running this orchestration (how code on a
  // nested or remote child names its own children's callables). Throws CallableError when the
  // callable is not registered there.
  CallableHandle callable(const NativeCallable& callable) const;
  CallableHandle callable(const ChipCallable& callable) const;
  CallableHandle callable(std::string_view hashid) const;

  ScopeGuard scope();
  size_t scope_depth() const;

  // State of a task of this run (diagnostics and tests); throws UsageError for a stale or foreign ref.
  TaskState state(const TaskRef& ref) const;
  uint64_t run_id() const;

 private:
  friend class Engine;
  friend class ScopeGuard;
  friend class Worker;
  Orchestrator(Engine* engine, RunState* run) : engine_(engine), run_(run) {}
  Engine* engine_;
  RunState* run_;
};

}  // namespace echelon
