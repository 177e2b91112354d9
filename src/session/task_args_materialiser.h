// Rebuilds a TASK's arguments over backings this process owns (protocol.md 6.5). Only HOST_INLINE
// tensors are materialised for now: each slice of the inline arena is copied into its own
// POSIX_SHM HostBuffer (grant READ), so the inner worker's forked children can map it by name.
// Inline arguments are private copies, so nothing is written back after the run.
#pragma once
#include <vector>
#include "echelon/errors.h"
#include "echelon/host_buffer.h"
#include "echelon/task_args.h"
#include "wire/task_payload.h"

namespace echelon::session {

// A tensor whose descriptor kind this session cannot back yet (remote buffers, windows, UB).
class UnsupportedArgument : public Error {
 public:
  using Error::Error;
};

// The rebuilt arguments and the buffers behind them; the buffers live as long as this object
// (the caller keeps it until inner.run() returns).
struct MaterialisedArgs {
  std::vector<HostBuffer> buffers;
  TaskArgs args;
};

// Every tensor reads back tagged NO_DEP (RT-103); scalars pass through in order.
MaterialisedArgs materialise_args(const wire::RemoteTaskArgsWire& wire_args);

}  // namespace echelon::session
