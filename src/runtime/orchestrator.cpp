#include "echelon/orchestrator.h"

#include "echelon/chip_callable.h"

#include <utility>

#include "runtime/engine.h"

namespace echelon {

SubmitResult Orchestrator::submit_next_level(const CallableHandle& callable, TaskArgs args, const CallConfig& config,
                                             WorkerId target) {
  SubmitSpec spec;
  spec.handle = &callable;
  spec.args.push_back(std::move(args));
  spec.config = &config;
  spec.targets.push_back(target);
  spec.api = "submit_next_level";
  return engine_->submit(*run_, std::move(spec));
}

SubmitResult Orchestrator::submit_next_level_group(const CallableHandle& callable, std::vector<TaskArgs> args,
                                                   const CallConfig& config, const std::vector<WorkerId>& targets) {
  SubmitSpec spec;
  spec.handle = &callable;
  spec.args = std::move(args);
  spec.config = &config;
  spec.targets = targets;
  spec.is_group = true;
  spec.api = "submit_next_level_group";
  return engine_->submit(*run_, std::move(spec));
}

SubmitResult Orchestrator::submit_sub(const CallableHandle& callable, TaskArgs args) {
  SubmitSpec spec;
  spec.handle = &callable;
  spec.args.push_back(std::move(args));
  spec.is_sub = true;
  spec.api = "submit_sub";
  return engine_->submit(*run_, std::move(spec));
}

SubmitResult Orchestrator::submit_sub_group(const CallableHandle& callable, std::vector<TaskArgs> args) {
  SubmitSpec spec;
  spec.handle = &callable;
  spec.args = std::move(args);
  spec.is_sub = true;
  spec.is_group = true;
  spec.api = "submit_sub_group";
  return engine_->submit(*run_, std::move(spec));
}

Tensor Orchestrator::alloc(std::initializer_list<uint32_t> shape, DataType dtype) {
  return engine_->alloc(*run_, std::span<const uint32_t>(shape.begin(), shape.size()), dtype);
}

CallableHandle Orchestrator::callable(const NativeCallable& c) const { return engine_->lookup_handle(c.identity().digest); }

CallableHandle Orchestrator::callable(const ChipCallable& c) const { return engine_->lookup_handle(c.identity().digest); }

CallableHandle Orchestrator::callable(std::string_view hashid) const {
  return engine_->lookup_handle(parse_hashid(hashid, /*allow_bare=*/true));
}

ScopeGuard Orchestrator::scope() { return ScopeGuard(this, engine_->open_scope(*run_)); }

size_t Orchestrator::scope_depth() const { return engine_->scope_depth(*run_); }

TaskState Orchestrator::state(const TaskRef& ref) const { return engine_->state_of(*run_, ref); }

uint64_t Orchestrator::run_id() const { return run_->id; }

void ScopeGuard::end() {
  if (!orch_) return;
  Orchestrator* o = std::exchange(orch_, nullptr);
  o->engine_->close_scope(*o->run_, depth_);
}

ScopeGuard::~ScopeGuard() { end(); }

}  // namespace echelon
