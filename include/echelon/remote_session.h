// What orchestration code running inside a remote L3 session runner can ask of its session
// (callables.md 11). Only a runner process (echelon-l3-session) has anything installed; anywhere
// else every lookup finds nothing.
#pragma once

#include <string_view>

#include "echelon/native_callable.h"

namespace echelon::remote {

// The inner Worker's handle of a callable committed on the runner's INNER_L3_WORKER registry (by
// a post-init registration or the bootstrap manifest), for submit_next_level / submit_sub from a
// dispatcher entry. `hashid` is "sha256:<64 hex>" or the bare 64 hex digits; anything else throws
// CallableError (HASHID_FORMAT_INVALID). A digest that is unknown, only prepared, or unregistered
// throws std::out_of_range("remote inner callable sha256:<hex> is not installed"). Thread-safe.
CallableHandle inner_handle(std::string_view hashid);

}  // namespace echelon::remote
