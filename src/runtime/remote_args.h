// Submit-time rules for remote task arguments (buffers.md 4, 7, 8): what a sidecar must satisfy to
// reach a remote worker, and the dependency key and footprint a remote argument registers.
#pragma once

#include <string>

#include "echelon/endpoint.h"
#include "echelon/task_args.h"
#include "runtime/tensor_map.h"

namespace echelon {

// Why tensor `i` of `args` may not go to `target` (a lane with `caps`), or "" when it may.
// Covers sidecar presence, local backings, the per-tag access table, released handles and
// eligibility (an owner handle is consumable only by its owner, an import only by its importer).
// `issuer` is the submitting engine's remote_issuer(): handles of other Workers are refused.
std::string remote_arg_problem(const TaskArgs& args, size_t i, const EndpointCaps& caps, uint64_t issuer);

// Whether worker `caps` could consume every remote argument of `args` (for the eligible-set text).
bool remote_args_consumable_by(const TaskArgs& args, const EndpointCaps& caps, uint64_t issuer);

// The byte footprint a tensor registers in the TensorMap. A remote argument's placeholder starts at
// byte 0 of a backing the size of the view; its bytes really start at desc.offset inside the owner
// allocation, so the footprint is the placeholder's geometry placed there (buffers.md 8).
Footprint dependency_footprint(const TaskArgs& args, const Tensor& t, size_t i);

// HOST_INLINE arguments are snapshots inside the TASK: no TensorMap entry, no lookup.
inline bool tracks_dependencies(const TaskArgs& args, size_t i) {
  return !(args.remote().has(i) && args.remote().descs[i]->address_space == RemoteSpace::HOST_INLINE);
}

}  // namespace echelon
