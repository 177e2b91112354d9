// Text names of the runtime's enums and small value-type helpers.
#include <algorithm>

#include "echelon/endpoint.h"
#include "echelon/errors.h"
#include "echelon/ids.h"
#include "echelon/options.h"
#include "fmt/format.h"

namespace echelon {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::SUCCESS: return "SUCCESS";
    case Outcome::TASK_FAILURE: return "TASK_FAILURE";
    case Outcome::ENDPOINT_FAILURE: return "ENDPOINT_FAILURE";
    case Outcome::SKIPPED: return "SKIPPED";
  }
  return "INVALID";
}

const char* to_string(MemberState s) {
  switch (s) {
    case MemberState::NOT_DISPATCHED: return "NOT_DISPATCHED";
    case MemberState::RUNNING: return "RUNNING";
    case MemberState::SUCCESS: return "SUCCESS";
    case MemberState::FAILED: return "FAILED";
    case MemberState::SKIPPED: return "SKIPPED";
  }
  return "INVALID";
}

const char* to_string(TaskState s) {
  switch (s) {
    case TaskState::FREE: return "FREE";
    case TaskState::BUILDING: return "BUILDING";
    case TaskState::PENDING: return "PENDING";
    case TaskState::READY: return "READY";
    case TaskState::RUNNING: return "RUNNING";
    case TaskState::COMPLETED: return "COMPLETED";
    case TaskState::FAILED: return "FAILED";
    case TaskState::CONSUMED: return "CONSUMED";
  }
  return "INVALID";
}

const char* to_string(EndpointKind k) {
  switch (k) {
    case EndpointKind::IN_PROCESS: return "IN_PROCESS";
    case EndpointKind::LOCAL_MAILBOX: return "LOCAL_MAILBOX";
    case EndpointKind::REMOTE_L3: return "REMOTE_L3";
  }
  return "INVALID";
}

bool EndpointCaps::accepts(CallableKind k) const {
  return std::find(callable_kinds.begin(), callable_kinds.end(), k) != callable_kinds.end();
}

bool EndpointCaps::accepts(TargetNamespace s) const { return std::find(scopes.begin(), scopes.end(), s) != scopes.end(); }

bool EndpointCaps::consumes(const BufferDescriptor& d) const {
  return std::find(address_spaces.begin(), address_spaces.end(), d.address_space) != address_spaces.end() &&
         std::find(backing_kinds.begin(), backing_kinds.end(), d.backend_kind) != backing_kinds.end();
}

void WorkerOptions::validate() const {
  auto positive = [](const char* name, double v) {
    if (!(v > 0) || v != v || v > 1e9)
      throw ValidationError(fmt::format("WorkerOptions.{} = {} must be a finite number of seconds > 0", name, v));
  };
  positive("alloc_timeout_s", alloc_timeout_s);
  positive("admission_timeout_s", admission_timeout_s);
  positive("startup_timeout_s", startup_timeout_s);
  positive("control_timeout_s", control_timeout_s);
  positive("close_grace_s", close_grace_s);
  positive("stall_warning_s", stall_warning_s);
  if (task_timeout_s != 0) positive("task_timeout_s (0 = none)", task_timeout_s);
  if (max_live_tasks == 0) throw ValidationError("WorkerOptions.max_live_tasks must be > 0");
  if (admission_depth == 0) throw ValidationError("WorkerOptions.admission_depth must be > 0");
  if (heap_ring_bytes < 1024 || heap_ring_bytes % 1024 != 0)
    throw ValidationError(fmt::format("WorkerOptions.heap_ring_bytes = {} must be a positive multiple of 1024",
                                      heap_ring_bytes));
  for (const auto& d : plugin_dirs)
    if (d.empty() || d[0] != '/')
      throw ValidationError(fmt::format("WorkerOptions.plugin_dirs entry '{}' must be an absolute path", d));
}

}  // namespace echelon
