// One run: its queues, its TensorMap and its scope stack (runtime.md 3.6).
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <string>
#include <vector>

#include "runtime/tensor_map.h"

namespace echelon {

inline constexpr size_t MAX_SCOPE_DEPTH = 64;

// A queued slot; the generation makes entries of slots retired (and reused) since harmless.
struct QueueRef {
  uint32_t index;
  uint32_t generation;
};

struct RunState {
  uint64_t id = 0;
  bool submission_closed = false;
  bool terminal = false;
  bool cancelled = false;  // the orchestration function threw: unstarted slots fail (RT-322)
  uint64_t live = 0;  // slots reserved and not yet CONSUMED

  // First error wins (RT-805).
  bool failed = false;
  std::string root_error;
  std::exception_ptr fn_error;  // the orchestration function's exception, rethrown by wait()
  bool waited = false;  // (engine mutex) its error reached a waiter; drain() need not raise it

  TensorMap tensor_map;
  std::vector<std::vector<uint32_t>> scopes;  // frames of slot indices holding a scope reference

  // Ready queues of this run, partitioned so only the dispatching run is popped (RT-401).
  std::vector<std::deque<QueueRef>> directed;  // per lane index (NEXT_LEVEL lanes only)
  std::deque<QueueRef> groups;
  std::deque<QueueRef> subs;
};

}  // namespace echelon
