// Identifiers and outcomes shared by the engine and its endpoints.
#pragma once

#include <cstdint>

namespace echelon {

// Stable id of a NEXT_LEVEL child; one counter for local and remote children (RT-501).
using WorkerId = int32_t;
inline constexpr WorkerId kNoWorker = -1;

// A task within one run; checked on use (RT-304).
struct TaskRef {
  uint64_t run_id = 0;
  uint32_t slot_index = 0;
  uint32_t generation = 0;
  friend bool operator==(const TaskRef&, const TaskRef&) = default;
};

// How a dispatched unit of work ended (RT-603).
enum class Outcome : uint8_t {
  SUCCESS = 0,
  TASK_FAILURE = 1,      // the callable ran and failed
  ENDPOINT_FAILURE = 2,  // the endpoint could not complete it (death, timeout, stop, ...)
  SKIPPED = 3,           // unstarted group member after another member failed
};
const char* to_string(Outcome o);

// Group member states (RT-803).
enum class MemberState : uint8_t { NOT_DISPATCHED, RUNNING, SUCCESS, FAILED, SKIPPED };
const char* to_string(MemberState s);

// Slot states (RT-318/319).
enum class TaskState : uint8_t { FREE, BUILDING, PENDING, READY, RUNNING, COMPLETED, FAILED, CONSUMED };
const char* to_string(TaskState s);

}  // namespace echelon
