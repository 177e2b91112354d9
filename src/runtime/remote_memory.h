// The parent side of remote memory (buffers.md 3 and 6): the checks every Worker::remote_* call
// makes before anything is sent, the buffer controls it sends through the engine's control path,
// and the owed frees and import releases of released handles.
//
// Imports. remote_export asks the owner for a registration and returns an export bound to this
// Worker and to the owner's record. remote_import pins the owner (live_imports) before it sends
// IMPORT_BUFFER to the importer; the pin passes to the import's record, or is dropped when the
// import did not happen. An import that did happen but cannot be completed (a bad reply, a later
// importer of the same call failing) is undone with RELEASE_IMPORT at once; if that release is not
// confirmed, the importer/buffer pair is marked cleanup-uncertain (no new tasks, no new imports for
// the rest of the session) and the pin stays, so the owner's free waits for the session end.
//
// Release import. remote_release_import marks the import released and owes RELEASE_IMPORT, sent
// (like a free, below) once no slot references the import; its confirmation drops the owner's pin.
// An owner free is due only when no slot references the owner and no import pins it, so the last
// release of a freed owner's imports is followed by its FREE_REMOTE_BUFFER: every flush sends due
// import releases first, then due frees.
//
// Deferred free. remote_free marks the handle released at once; FREE_REMOTE_BUFFER goes out only
// when no task slot (and no copy in progress) references the buffer. The retire path only drops
// references, under the engine lock, where no control may be sent; the free is then sent at the
// next flush point:
//   - at the end of every wait for a run (Worker::run, RunHandle::wait, drain), once its slots
//     are consumed;
//   - at the start and end of every remote_* call (and remote_free itself when nothing holds the
//     handle);
//   - at close(), before the sessions shut down.
// A free is claimed under the record's lock before it is sent, so concurrent frees and flushes
// send it exactly once. A refused free stays owed (logged at flush points, thrown by an explicit
// remote_free, retried by the next flush); a free on a FAILED worker ends with its session, whose
// runner frees everything at exit.
#pragma once

#include <map>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/remote_buffer_export.h"
#include "core/remote_buffer_record.h"
#include "echelon/remote_buffer.h"
#include "runtime/engine.h"

namespace echelon {

class RemoteL3Endpoint;

class RemoteMemory {
 public:
  RemoteMemory(Engine& engine, double control_timeout_s) : engine_(engine), control_timeout_s_(control_timeout_s) {}

  // The copy chunk of one remote worker (RemoteWorkerSpec::copy_chunk_bytes); set before init().
  void set_copy_chunk(WorkerId worker, uint64_t bytes) { copy_chunk_[worker] = bytes; }

  RemoteBufferHandle malloc(WorkerId worker, uint64_t nbytes);
  void copy_to(const RemoteBufferHandle& dst, uint64_t offset, std::span<const std::byte> src);
  void copy_from(const RemoteBufferHandle& src, uint64_t offset, std::span<std::byte> dst);
  void free(const RemoteBufferHandle& owner);

  RemoteBufferExport export_range(const RemoteBufferHandle& owner, uint64_t offset, uint64_t nbytes, uint32_t access);
  // All or nothing: when one importer fails, the imports already made are released again.
  std::vector<RemoteBufferHandle> import(const RemoteBufferExport& exported, const std::vector<WorkerId>& importers,
                                         uint32_t requested);
  void release_import(const RemoteBufferHandle& imported);

  // Sends every owed import release, then every owed free, that nothing holds any more; failures
  // stay owed and are logged.
  void flush_due() noexcept;
  // Frees and import releases still owed (diagnostics and tests).
  size_t owed() const;

 private:
  enum class FreeOutcome { PAID, OWED, ENDED_WITH_SESSION };
  class ImportPin;

  uint32_t remote_lane(WorkerId worker, const char* api) const;
  RemoteL3Endpoint* bulk_endpoint(uint32_t lane);
  // The record of a live-checked handle of this Worker; `owner_only` refuses imports.
  const std::shared_ptr<detail::RemoteBufferRecord>& checked_record(const RemoteBufferHandle& h, const char* api,
                                                                     bool owner_only) const;
  // remote_free / remote_release_import once the kind is checked: release, owe, send if nothing holds it.
  void release_handle(const std::shared_ptr<detail::RemoteBufferRecord>& rec, const char* api);
  // Sends FREE_REMOTE_BUFFER (owner) or RELEASE_IMPORT (import) for a record whose control this
  // thread claimed; settles the claim, and a settled import release drops its owner pin.
  FreeOutcome send_claimed_free(detail::RemoteBufferRecord& record, std::string& error);
  // Sends one control to `worker` and checks its reply; ENDED_WITH_SESSION when the worker's lane
  // failed (before or because of the send): its runner drops the state when the session ends.
  FreeOutcome send_owed(WorkerId worker, const ControlRequest& request, void (*check)(const ControlReply&),
                        std::string& error);
  const detail::RemoteExportRecord& checked_export(const RemoteBufferExport& e, const char* api) const;
  void check_importer(const detail::RemoteExportRecord& ex, WorkerId importer, uint32_t requested, const char* api) const;
  RemoteBufferHandle import_one(const detail::RemoteExportRecord& ex, WorkerId importer, uint32_t requested);
  // Undoes a completed import now (nothing can reference it yet). False when the release was not
  // confirmed: the pair is then cleanup-uncertain and the pin stays.
  bool undo_import(WorkerId importer, const std::shared_ptr<detail::RemoteBufferRecord>& owner, uint64_t import_id,
                   ImportPin& pin);
  void forget_settled();
  Deadline control_deadline() const;

  Engine& engine_;
  const double control_timeout_s_;
  mutable std::mutex mu_;  // guards owed_; never held while a control is sent
  std::vector<std::shared_ptr<detail::RemoteBufferRecord>> owed_;
  uint64_t copy_chunk(WorkerId worker) const;
  std::map<WorkerId, uint64_t> copy_chunk_;  // written before init() only, then read-only
};

}  // namespace echelon
