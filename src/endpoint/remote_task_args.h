// The arguments of one remote TASK (protocol.md 6.1, buffers.md 4 "Endpoint side"): the engine's
// placeholders and sidecars turned into RemoteTaskArgsWire. Every argument is checked before
// anything is encoded, so a refused task sends nothing and consumes no command-lane sequence.
#pragma once

#include "echelon/endpoint.h"
#include "wire/task_payload.h"

namespace echelon {

// The sidecar of one argument in wire terms (same address-space numbering; the inline slice
// becomes inline_payload_offset/len).
wire::RemoteTensorDescWire to_wire_desc(const RemoteTensorDesc& desc);

// The whole TASK payload of `request`. Throws SubmitError naming the argument index and the rule:
// "a remote task argument must carry no local backing" (any backend other than REMOTE_SIDECAR),
// "tensor submitted without remote sidecar", a sidecar that does not match its placeholder, a
// sidecar without a tensor, or any codec rule of protocol.md 6 (WireError text).
wire::TaskPayload remote_task_payload(const DispatchRequest& request);

}  // namespace echelon
