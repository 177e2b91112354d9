// The checks of callables.md 9.1 (and the load checks of 9.2) on a CHIP_CALLABLE payload for
// INNER_L3_WORKER, in the spec's order, each refused with its own rule so a test (and an
// operator) can tell them apart: descriptor hash, descriptor/blob digest disagreement, STAGED_BLOB
// (UNSUPPORTED), inline size, blob SHA-256, context (ISA, platform, runtime), blob load, signature,
// rebuilt descriptor.
#pragma once
#include "echelon/chip_callable.h"
#include "wire/register_controls.h"

namespace echelon::session {

// Returns the verified callable (its signature read by loading a private copy once). Throws
// RegisterRefusal.
ChipCallable verify_chip_payload(const wire::ChipCallablePayload& payload, const Digest& requested);

}  // namespace echelon::session
