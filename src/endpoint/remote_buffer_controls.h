// Typed buffer-family controls for a remote L3 endpoint (buffers.md 3, protocol.md 9.2): how the
// Worker's remote_* calls become ControlRequests, and how their replies are checked. The request
// name is the protocol's control name ("ALLOC_REMOTE_BUFFER", ...); the payload is the control's
// wire body. RemoteL3Endpoint::control() sends any request whose name is a known control as a
// CONTROL frame on the command lane, ordered with TASKs, and returns the CONTROL_REPLY result bytes
// as ControlReply::payload.
//
// The builders encode through the wire codec, so a request the runner would refuse (size 0,
// buffer 0, generation 0, a negative worker, a chunk larger than one frame) throws ControlError
// naming the control and the field, and nothing is sent. The *_result functions validate a reply
// completely against the request it answers and throw ControlError naming the control and the bad
// field; a reply that says the control failed throws ControlError carrying the endpoint's text
// (which carries the runner's), with "(effect uncertain)" when the endpoint could not tell.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "echelon/endpoint.h"
#include "echelon/ids.h"

namespace echelon::remote_controls {

struct Allocation {
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t nbytes = 0;
  uint64_t remote_addr = 0;
  uint64_t rkey_or_token = 0;
};

ControlRequest alloc(uint64_t nbytes);
Allocation alloc_result(const ControlReply& reply, WorkerId worker, uint64_t nbytes);

ControlRequest free_buffer(WorkerId worker, uint64_t buffer_id, uint64_t generation);
void free_result(const ControlReply& reply);

// One chunk: `data.size()` must be at most max_copy_chunk_bytes().
ControlRequest copy_to(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                       std::span<const std::byte> data);
void copy_to_result(const ControlReply& reply);

ControlRequest copy_from(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset, uint64_t size);
// Copies exactly dst.size() bytes (the request's size) from the reply into dst.
void copy_from_result(const ControlReply& reply, std::span<std::byte> dst);

// The largest chunk one COPY_TO_REMOTE frame can carry (16 MiB minus the control envelopes).
uint64_t max_copy_chunk_bytes();

}  // namespace echelon::remote_controls
