// Rebuilds a TASK's arguments over backings this process holds (protocol.md 6.4, 6.5), just before
// inner.run():
// - HOST_INLINE: the slice of the inline arena is copied into a per-task POSIX_SHM buffer named
//   /es<session>_i<n> (grant READ), released when the MaterialisedArgs goes; nothing is written
//   back, since inline arguments are private copies.
// - REMOTE_DEVICE: a view over the owner allocation's POSIX_SHM descriptor (READWRITE) at
//   byte_offset = desc.offset, so tasks write into the remote buffer in place.
// - REMOTE_WINDOW: a view over the importer-local mapping (the import's grant), same offsets.
//   An RMA import (ucx, owner on another host; buffers.md 9.3 "Materialising an imported
//   argument") is copied in instead: ONE get per task and import of the smallest owner range
//   covering all of the task's arguments on that import, into a per-task POSIX_SHM buffer
//   /es<session>_i<n> that those arguments view (grant = the import's); a snapshot is kept when
//   the import grants WRITE. write_back() then puts only the byte runs that differ from the
//   snapshot, flushed, and must run before the COMPLETION is sent. A failed get is a FAILED
//   ArgumentRefused naming the import, the buffer and the transport error.
// - UB_LDST: UNSUPPORTED.
// Every tensor keeps the placeholder's shape, strides and dtype and reads back NO_DEP (RT-103);
// scalars pass through in order. The forked inner children map every backing by name.
#pragma once
#include <vector>
#include "echelon/errors.h"
#include "echelon/host_buffer.h"
#include "echelon/task_args.h"
#include "session/buffer_registry.h"
#include "wire/task_payload.h"
#include "wire/wire_status.h"

namespace echelon::session {

// A tensor argument the runner refuses: the COMPLETION status of protocol.md 6.4 and a message
// naming the argument index and the rule that failed. The session goes on.
class ArgumentRefused : public Error {
 public:
  ArgumentRefused(wire::WireStatus status, const std::string& what) : Error(what), status_(status) {}
  wire::WireStatus status() const { return status_; }

 private:
  wire::WireStatus status_;
};

// The rebuilt arguments and the per-task inline buffers behind them; the caller keeps this until
// inner.run() returns. Owner allocations and imports stay in the registry.
// One RMA import's copy-in for one task: owner-relative [lo, hi) lives in `staging`.
struct RmaStage {
  BufferRegistry::RmaImport import;
  uint64_t lo = 0, hi = 0;
  HostBuffer staging;
  std::vector<uint8_t> snapshot;  // the copied-in bytes; only when the import grants WRITE
};

struct MaterialisedArgs {
  std::vector<HostBuffer> inline_buffers;
  std::vector<RmaStage> rma_stages;
  TaskArgs args;
};

MaterialisedArgs materialise_args(const wire::RemoteTaskArgsWire& wire_args, BufferRegistry& registry);

// After inner.run() returned, before COMPLETION: every writable RMA stage puts back the byte runs
// that differ from its snapshot (one flushed put_runs per stage; nothing for read-only imports or
// unchanged bytes). Throws echelon::Error naming the import, the buffer and the transport error.
void write_back(MaterialisedArgs& materialised, BufferRegistry& registry);

}  // namespace echelon::session
