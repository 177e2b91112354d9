// Parent-side state of one remote allocation or import (buffers.md 2 and 6): an immutable identity
// checked against the handle invariants at construction (BUF-1), and the mutable lifetime state —
// released by the user, slot references still live, and the control owed to the runner once it is
// released (FREE_REMOTE_BUFFER for an owner, RELEASE_IMPORT for an import; "free" below means
// whichever of the two the record's kind owes). An import record keeps its owner's record alive and
// pins it (live_imports), so the owner's free waits for every import's release.
// Thread-safe: tasks capture and drop references under the engine lock, while remote_free and the
// Worker's flush points may run on any thread; the record's own mutex serialises them, and is
// never held while a control is sent.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "echelon/ids.h"
#include "echelon/remote_buffer.h"

namespace echelon::detail {

struct RemoteBufferIdentity {
  uint64_t issuer = 0;  // token of the Worker that created the handle; handles do not cross Workers
  WorkerId worker = kNoWorker;  // the worker that can consume it in a task
  WorkerId owner = kNoWorker;   // the worker that owns the physical allocation
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t import_id = 0;  // 0 for owner handles
  RemoteSpace space = RemoteSpace::REMOTE_DEVICE;
  uint64_t offset = 0;  // start of the handle's range inside the owner allocation
  uint64_t nbytes = 0;
  uint32_t access = REMOTE_ACCESS_READ_WRITE;
  // Profile data: travels in task descriptors, never shown to users (BUF-2).
  uint64_t remote_addr = 0;
  uint64_t rkey_or_token = 0;
  uint64_t ub_ldst_va = 0;
};

// BUF-1: throws std::invalid_argument naming the broken invariant.
void check_handle_invariants(const RemoteBufferIdentity& id);

struct RemoteBufferRecord {
  explicit RemoteBufferRecord(const RemoteBufferIdentity& identity);  // checks BUF-1
  // An import of `owner_record`'s allocation: also checks that the identity names that allocation
  // (owner, buffer, generation, range inside it). Does not pin: the importer pins before it sends
  // IMPORT_BUFFER and hands the pin over to this record.
  RemoteBufferRecord(const RemoteBufferIdentity& identity, std::shared_ptr<RemoteBufferRecord> owner_record);
  RemoteBufferRecord(const RemoteBufferRecord&) = delete;
  RemoteBufferRecord& operator=(const RemoteBufferRecord&) = delete;

  const RemoteBufferIdentity id;
  // Imports made by Worker::remote_import: the owner's record (null for owners).
  const std::shared_ptr<RemoteBufferRecord> owner;

  bool is_import() const { return id.import_id != 0; }
  bool released() const;
  uint32_t live_slot_refs() const;
  uint32_t live_imports() const;
  bool free_owed() const;

  // Owner side of an import. pin_import() is false, pinning nothing, once the owner is released:
  // release and pin are decided under one lock, so a free never overtakes an import in flight.
  bool pin_import();
  // Drops a pin. Returns true when this made the owner's owed free sendable.
  bool unpin_import();
  // buffers.md 3 "Imports across several workers": a rollback RELEASE_IMPORT into `importer` was
  // not confirmed, so that importer/buffer pair is unusable for new tasks for the rest of the
  // session (the unreleased import keeps its pin, so the owner's free waits for the session end).
  void mark_cleanup_uncertain(WorkerId importer);
  bool cleanup_uncertain(WorkerId importer) const;

  // A task slot (or a copy in progress) starts using the buffer. Returns false, capturing nothing,
  // when the handle is already released: release and capture are decided under one lock.
  bool capture_ref();
  // Drops a captured reference. Returns true when this drop made an owed free sendable.
  bool drop_ref();

  // remote_free / remote_release_import: marks the handle released and records the owed control.
  // Returns true only for the call that released it.
  bool release();
  // Claims the owed control for sending: true when it is owed, nothing references the buffer (no
  // slot reference, and for an owner no import pin) and no other thread is sending it. Exactly one caller wins; it must call finish_free() after.
  bool claim_due_free();
  // `paid`: the runner confirmed; otherwise the debt stays owed for the next flush or retry.
  void finish_free(bool paid);

 private:
  mutable std::mutex mu_;
  bool released_ = false;
  bool free_owed_ = false;
  bool free_in_flight_ = false;
  uint32_t live_refs_ = 0;
  uint32_t live_imports_ = 0;
  std::vector<WorkerId> uncertain_importers_;
};

// The one way runtime code reaches a handle's record or mints a handle.
struct RemoteHandleAccess {
  static const std::shared_ptr<RemoteBufferRecord>& record(const RemoteBufferHandle& h) { return h.record_; }
  static RemoteBufferHandle make(std::shared_ptr<RemoteBufferRecord> record) {
    return RemoteBufferHandle(std::move(record));
  }
};

}  // namespace echelon::detail
