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
#include <optional>
#include <span>
#include <vector>

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
// copy_to() without the data: the command is only the CopyRequestWire head announcing
// `data.size()` bytes, for a sender that appends `data` from the caller's memory (scatter/gather).
// Same checks as copy_to().
ControlRequest copy_to_head(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                            std::span<const std::byte> data);

ControlRequest copy_from(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset, uint64_t size);
// Copies exactly dst.size() bytes (the request's size) from the reply into dst.
void copy_from_result(const ControlReply& reply, std::span<std::byte> dst);
// The reply of a COPY_FROM_REMOTE whose result the endpoint already wrote into the destination
// (its length checked there): only success is left to check.
void copy_from_placed_result(const ControlReply& reply);

// EXPORT_BUFFER on the owner, for the session's own profile (an empty transport_profile).
struct ExportGrant {
  uint64_t export_id = 0;
  uint32_t access = 0;
  // The validated result, re-encoded: opaque bytes that import_buffer() carries verbatim.
  std::vector<uint8_t> descriptor;
};
ControlRequest export_buffer(WorkerId owner, uint64_t buffer_id, uint64_t generation, uint64_t offset, uint64_t nbytes,
                             uint32_t access);
// Checks identity, range and access against the request, REMOTE_WINDOW, a non-zero export id.
ExportGrant export_result(const ControlReply& reply, WorkerId owner, uint64_t buffer_id, uint64_t generation,
                          uint64_t offset, uint64_t nbytes, uint32_t access);

// IMPORT_BUFFER on the importer, carrying an ExportGrant::descriptor.
struct ImportGrant {
  uint64_t import_id = 0;
  uint64_t remote_addr = 0;
  uint64_t rkey_or_token = 0;
};
ControlRequest import_buffer(WorkerId importer, uint32_t requested, std::span<const uint8_t> export_descriptor);
// Checks the reply against the request (identity, range, granted access, REMOTE_WINDOW, import id
// != 0). A host_tcp refusal because owner and importer are on different hosts becomes a
// ControlError saying that the import needs an RMA-capable profile (ucx), naming both workers.
ImportGrant import_result(const ControlReply& reply, WorkerId importer, uint32_t requested,
                          std::span<const uint8_t> export_descriptor);
// The import id a successful reply carries, when it decodes at all: a reply that failed
// import_result() may still have created a mapping the parent must release.
std::optional<uint64_t> import_id_of(const ControlReply& reply);

ControlRequest release_import(WorkerId importer, WorkerId owner, uint64_t buffer_id, uint64_t generation,
                              uint64_t import_id);
void release_import_result(const ControlReply& reply);

// The largest chunk one COPY_TO_REMOTE frame can carry (16 MiB minus the control envelopes).
uint64_t max_copy_chunk_bytes();

}  // namespace echelon::remote_controls
