// Parent-side state of one remote allocation or import (buffers.md 2 and 6): an immutable identity
// checked against the handle invariants at construction (BUF-1), and the mutable lifetime state —
// released by the user, slot references still live, and a free that is owed to the runner.
// Thread-safe: tasks capture and drop references under the engine lock, while remote_free and the
// Worker's flush points may run on any thread; the record's own mutex serialises them, and is
// never held while a control is sent.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

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
  RemoteBufferRecord(const RemoteBufferRecord&) = delete;
  RemoteBufferRecord& operator=(const RemoteBufferRecord&) = delete;

  const RemoteBufferIdentity id;

  bool is_import() const { return id.import_id != 0; }
  bool released() const;
  uint32_t live_slot_refs() const;
  bool free_owed() const;

  // A task slot (or a copy in progress) starts using the buffer. Returns false, capturing nothing,
  // when the handle is already released: release and capture are decided under one lock.
  bool capture_ref();
  // Drops a captured reference. Returns true when this drop made an owed free sendable.
  bool drop_ref();

  // remote_free / remote_release_import: marks the handle released and records the owed control.
  // Returns true only for the call that released it.
  bool release();
  // Claims the owed control for sending: true when it is owed, nothing references the buffer and
  // no other thread is sending it. Exactly one caller wins; it must call finish_free() after.
  bool claim_due_free();
  // `paid`: the runner confirmed; otherwise the debt stays owed for the next flush or retry.
  void finish_free(bool paid);

 private:
  mutable std::mutex mu_;
  bool released_ = false;
  bool free_owed_ = false;
  bool free_in_flight_ = false;
  uint32_t live_refs_ = 0;
};

// The one way runtime code reaches a handle's record or mints a handle.
struct RemoteHandleAccess {
  static const std::shared_ptr<RemoteBufferRecord>& record(const RemoteBufferHandle& h) { return h.record_; }
  static RemoteBufferHandle make(std::shared_ptr<RemoteBufferRecord> record) {
    return RemoteBufferHandle(std::move(record));
  }
};

}  // namespace echelon::detail
