// The runner side of echelon::remote::inner_handle (callables.md 11): the process-wide table of
// published inner handles. Entries are published on commit or manifest install, unpublished on
// unregister, and cleared at session end. Thread-safe: orchestration code may look up from any
// inner thread while the command loop publishes.
#pragma once
#include "echelon/callable.h"
#include "echelon/native_callable.h"

namespace echelon::session {

void publish_inner_handle(const Digest& digest, const CallableHandle& handle);
void unpublish_inner_handle(const Digest& digest);
void clear_inner_handles();

}  // namespace echelon::session
