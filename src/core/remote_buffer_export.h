// Parent-side record of one export (buffers.md 3): what Worker::remote_export learned from the
// owner's EXPORT_BUFFER reply, bound to the minting Worker (issuer) and to the owner's record, so
// remote_import can refuse a forged, foreign or stale export before it sends anything. Immutable
// once built; the descriptor stays opaque bytes here so that core code never depends on the wire.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/remote_buffer_record.h"
#include "echelon/remote_buffer.h"

namespace echelon::detail {

struct RemoteExportRecord {
  uint64_t issuer = 0;                        // remote_issuer() of the Worker that minted it
  std::shared_ptr<RemoteBufferRecord> owner;  // the exported allocation (never an import)
  uint64_t generation = 0;                    // the owner generation the runner exported
  uint64_t offset = 0;                        // owner-relative start of the exported range
  uint64_t nbytes = 0;
  uint32_t access = REMOTE_ACCESS_READ;
  // The owner's EXPORT_BUFFER result as encoded on the wire: IMPORT_BUFFER carries it verbatim
  // (remote_controls::import_buffer). Never shown to users (BUF-2).
  std::vector<uint8_t> descriptor;
};

// The one way runtime code reaches an export's record or mints an export.
struct RemoteExportAccess {
  static const std::shared_ptr<const RemoteExportRecord>& record(const RemoteBufferExport& e) { return e.record_; }
  static RemoteBufferExport make(std::shared_ptr<const RemoteExportRecord> record) {
    return RemoteBufferExport(std::move(record));
  }
};

}  // namespace echelon::detail
