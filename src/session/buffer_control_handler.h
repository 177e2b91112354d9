// Serves one buffer-family CONTROL (protocol.md 9.2) against the session's BufferRegistry:
// decodes the command bytes with the wire codec, applies the request, and encodes the result.
// A command that fails to decode is REJECTED (UNSUPPORTED for a known but unimplemented version):
// the frame itself was well-formed, so the session goes on (protocol.md 8).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>
#include "session/buffer_registry.h"
#include "session/control_answer.h"
#include "wire/control.h"
#include "wire/wire_status.h"

namespace echelon::session {

// The largest COPY_FROM_REMOTE result one CONTROL_REPLY can carry: the payload maximum minus the
// reply envelope (sequence, name, version, code, empty message length, result length).
inline constexpr uint64_t MAX_COPY_FROM_RESULT_BYTES = wire::MAX_FRAME_PAYLOAD_BYTES - (8 + 4 + 4 + 4 + 4 + 4);

// `request.name` must be a buffer-family control. Never throws for a request-level failure.
ControlAnswer answer_buffer_control(BufferRegistry& registry, const wire::ControlRequest& request);
// The same, except that an OK COPY_FROM_REMOTE v1 leaves `answer.result` empty and sets
// `*borrowed_result` to a view of the bytes in the allocation instead (no copy). The view is valid
// until the registry changes: the caller sends it at once. Every refusal is the same as above.
ControlAnswer answer_buffer_control(BufferRegistry& registry, const wire::ControlRequest& request,
                                    std::span<const uint8_t>* borrowed_result);

}  // namespace echelon::session
