#include "runtime/remote_memory.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "echelon/errors.h"
#include "endpoint/remote_buffer_controls.h"
#include "endpoint/remote_l3_endpoint.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace echelon {
namespace {

// buffers.md 3: the range is relative to the handle, overflow-checked; empty copies are refused.
void check_copy_range(const char* api, const detail::RemoteBufferIdentity& id, uint64_t offset, uint64_t size) {
  if (size == 0) throw std::invalid_argument(fmt::format("{}: a copy needs at least one byte (empty span)", api));
  if (offset > id.nbytes || size > id.nbytes - offset)
    throw std::out_of_range(fmt::format("{}: range [{}, {}+{}) is outside the {}-byte handle (offset + size <= nbytes)",
                                        api, offset, offset, size, id.nbytes));
}

// The buffer part of a version-2 copy; the endpoint adds the size and the registered peer range.
wire::CopyRmaRequest rma_request(const detail::RemoteBufferIdentity& id, uint64_t offset) {
  wire::CopyRmaRequest r;
  r.worker_id = static_cast<int32_t>(id.owner);
  r.buffer_id = id.buffer_id;
  r.generation = id.generation;
  r.offset = id.offset + offset;
  return r;
}

}  // namespace

Deadline RemoteMemory::control_deadline() const {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(control_timeout_s_));
}

// The session endpoint behind a remote lane, when it can move copy chunks without copying them
// (scatter/gather out of the caller's span, replies straight into it); other endpoint kinds (test
// doubles) take the generic control path.
RemoteL3Endpoint* RemoteMemory::bulk_endpoint(uint32_t lane) {
  return dynamic_cast<RemoteL3Endpoint*>(&engine_.lane(lane).endpoint());
}

uint32_t RemoteMemory::remote_lane(WorkerId worker, const char* api) const {
  const int lane = engine_.lane_of(worker);
  if (lane < 0 || engine_.lane(static_cast<uint32_t>(lane)).caps().kind != EndpointKind::REMOTE_L3)
    throw std::invalid_argument(fmt::format("{}: worker {} is not a remote worker of this Worker", api, worker));
  const EndpointHealth h = engine_.health(static_cast<uint32_t>(lane));
  if (!h.ready)
    throw std::invalid_argument(fmt::format("{}: the session of remote worker {} is not live: {}", api, worker, h.reason));
  return static_cast<uint32_t>(lane);
}

const std::shared_ptr<detail::RemoteBufferRecord>& RemoteMemory::checked_record(const RemoteBufferHandle& h,
                                                                                 const char* api,
                                                                                 bool owner_only) const {
  const auto& rec = detail::RemoteHandleAccess::record(h);
  if (!rec) throw std::invalid_argument(fmt::format("{}: the handle is empty", api));
  if (rec->id.issuer != engine_.remote_issuer())
    throw std::invalid_argument(fmt::format("{}: the handle was not issued by this Worker", api));
  detail::check_handle_invariants(rec->id);  // BUF-1: at every use
  if (owner_only && rec->is_import())
    throw std::invalid_argument(fmt::format("{}: needs an owner handle, but buffer {} is imported into worker {} "
                                            "(imports are released with remote_release_import)",
                                            api, rec->id.buffer_id, rec->id.worker));
  return rec;
}

RemoteBufferHandle RemoteMemory::malloc(WorkerId worker, uint64_t nbytes) {
  if (nbytes == 0) throw std::invalid_argument("remote_malloc: nbytes must be > 0");
  const uint32_t lane = remote_lane(worker, "remote_malloc");
  flush_due();
  const ControlReply reply = engine_.control(lane, remote_controls::alloc(nbytes), control_deadline());
  remote_controls::Allocation a;
  try {
    a = remote_controls::alloc_result(reply, worker, nbytes);
  } catch (const std::exception& e) {
    throw ControlError(fmt::format("remote_malloc({} bytes on worker {}): {}", nbytes, worker, e.what()));
  }
  detail::RemoteBufferIdentity id;
  id.issuer = engine_.remote_issuer();
  id.worker = id.owner = worker;
  id.buffer_id = a.buffer_id;
  id.generation = a.generation;
  id.space = RemoteSpace::REMOTE_DEVICE;
  id.nbytes = a.nbytes;
  id.access = REMOTE_ACCESS_READ_WRITE;
  id.remote_addr = a.remote_addr;
  id.rkey_or_token = a.rkey_or_token;
  return detail::RemoteHandleAccess::make(std::make_shared<detail::RemoteBufferRecord>(id));
}

void RemoteMemory::copy_to(const RemoteBufferHandle& dst, uint64_t offset, std::span<const std::byte> src) {
  constexpr const char* api = "remote_copy_to";
  const auto& rec = checked_record(dst, api, /*owner_only=*/true);
  const detail::RemoteBufferIdentity& id = rec->id;
  if (rec->released()) throw std::invalid_argument(fmt::format("{}: handle was released (buffer {})", api, id.buffer_id));
  check_copy_range(api, id, offset, src.size());
  const uint32_t lane = remote_lane(id.owner, api);
  flush_due();
  {
    // A copy uses the buffer like a task slot does: a free racing with it waits until it ends.
    detail::RemoteSlotRefs use;
    if (!use.capture(rec)) throw std::invalid_argument(fmt::format("{}: handle was released (buffer {})", api, id.buffer_id));
    Engine::LaneHold hold = engine_.hold_lane(lane);  // no TASK between two chunks (BUF-8)
    RemoteL3Endpoint* const bulk = bulk_endpoint(lane);
    if (bulk && bulk->copies_by_rma(src.size())) {
      // ucx: one version-2 control; the runner gets the bytes from `src` (registered meanwhile).
      const ControlReply reply = bulk->copy_by_rma(
          wire::ControlName::COPY_TO_REMOTE, rma_request(id, offset),
          {const_cast<std::byte*>(src.data()), src.size()}, control_deadline());
      if (!reply.ok)
        throw ControlError(fmt::format("{}: buffer {} of worker {}: the RMA copy of {} bytes failed (the range is "
                                       "unspecified): {}", api, id.buffer_id, id.owner, src.size(), reply.error));
      flush_due();
      return;
    }
    const uint64_t chunk = copy_chunk(id.owner);
    for (uint64_t done = 0; done < src.size();) {
      const uint64_t n = std::min<uint64_t>(chunk, src.size() - done);
      const std::span<const std::byte> part = src.subspan(done, n);
      const uint64_t at = id.offset + offset + done;
      try {
        if (bulk) {
          // The chunk is written to the socket from `src` itself (the lane is held, so the
          // endpoint's own failed check stands in for the engine's).
          remote_controls::copy_to_result(bulk->control_borrowed(
              remote_controls::copy_to_head(id.owner, id.buffer_id, id.generation, at, part),
              {reinterpret_cast<const uint8_t*>(part.data()), part.size()}, {}, control_deadline()));
        } else {
          remote_controls::copy_to_result(
              hold.control(remote_controls::copy_to(id.owner, id.buffer_id, id.generation, at, part), control_deadline()));
        }
      } catch (const std::exception& e) {
        throw ControlError(fmt::format("{}: buffer {} of worker {}: failed after {} of {} bytes were written (the failed "
                                       "range is unspecified): {}", api, id.buffer_id, id.owner, done, src.size(), e.what()));
      }
      done += n;
    }
  }
  flush_due();
}

void RemoteMemory::copy_from(const RemoteBufferHandle& src, uint64_t offset, std::span<std::byte> dst) {
  constexpr const char* api = "remote_copy_from";
  const auto& rec = checked_record(src, api, /*owner_only=*/true);
  const detail::RemoteBufferIdentity& id = rec->id;
  if (rec->released()) throw std::invalid_argument(fmt::format("{}: handle was released (buffer {})", api, id.buffer_id));
  check_copy_range(api, id, offset, dst.size());
  const uint32_t lane = remote_lane(id.owner, api);
  flush_due();
  {
    detail::RemoteSlotRefs use;
    if (!use.capture(rec)) throw std::invalid_argument(fmt::format("{}: handle was released (buffer {})", api, id.buffer_id));
    Engine::LaneHold hold = engine_.hold_lane(lane);
    RemoteL3Endpoint* const bulk = bulk_endpoint(lane);
    if (bulk && bulk->copies_by_rma(dst.size())) {
      // ucx: one version-2 control; the runner puts the bytes into `dst` (registered meanwhile).
      const ControlReply reply =
          bulk->copy_by_rma(wire::ControlName::COPY_FROM_REMOTE, rma_request(id, offset), dst, control_deadline());
      if (!reply.ok)
        throw ControlError(fmt::format("{}: buffer {} of worker {}: the RMA copy of {} bytes failed (the destination "
                                       "is unspecified): {}", api, id.buffer_id, id.owner, dst.size(), reply.error));
      flush_due();
      return;
    }
    const uint64_t chunk = copy_chunk(id.owner);
    for (uint64_t done = 0; done < dst.size();) {
      const uint64_t n = std::min<uint64_t>(chunk, dst.size() - done);
      const std::span<std::byte> part = dst.subspan(done, n);
      try {
        const ControlRequest request =
            remote_controls::copy_from(id.owner, id.buffer_id, id.generation, id.offset + offset + done, n);
        if (bulk) {
          // The reply's bytes go from the received frame straight into `dst`.
          remote_controls::copy_from_placed_result(bulk->control_borrowed(
              request, {}, {reinterpret_cast<uint8_t*>(part.data()), part.size()}, control_deadline()));
        } else {
          remote_controls::copy_from_result(hold.control(request, control_deadline()), part);
        }
      } catch (const std::exception& e) {
        throw ControlError(fmt::format("{}: buffer {} of worker {}: failed after {} of {} bytes were read: {}", api,
                                       id.buffer_id, id.owner, done, dst.size(), e.what()));
      }
      done += n;
    }
  }
  flush_due();
}

void RemoteMemory::free(const RemoteBufferHandle& owner) {
  constexpr const char* api = "remote_free";
  const auto& rec = checked_record(owner, api, /*owner_only=*/true);
  release_handle(rec, api);
}

void RemoteMemory::release_import(const RemoteBufferHandle& imported) {
  constexpr const char* api = "remote_release_import";
  const auto& rec = checked_record(imported, api, /*owner_only=*/false);
  if (!rec->is_import())  // RELEASE_IMPORT is never sent for an owner allocation (buffers.md 6)
    throw std::invalid_argument(fmt::format("{}: needs an imported handle, but buffer {} is an owner handle of worker {} "
                                            "(owner handles are freed with remote_free)",
                                            api, rec->id.buffer_id, rec->id.owner));
  release_handle(rec, api);
  flush_due();  // the last release of a freed owner's imports makes its free due
}

void RemoteMemory::release_handle(const std::shared_ptr<detail::RemoteBufferRecord>& rec, const char* api) {
  if (rec->release()) {
    std::lock_guard l(mu_);
    owed_.push_back(rec);
  }
  // Sent now only when nothing holds the buffer; a repeat of a paid control claims nothing (BUF-6),
  // and a repeat of a refused one retries it.
  if (!rec->claim_due_free()) return;
  std::string error;
  const FreeOutcome outcome = send_claimed_free(*rec, error);
  forget_settled();
  if (outcome == FreeOutcome::OWED)
    throw ControlError(fmt::format("{}: remote buffer {} remains owed (buffer {} of worker {}{}): {}", api,
                                   rec->is_import() ? "import release" : "free", rec->id.buffer_id, rec->id.owner,
                                   rec->is_import() ? fmt::format(", import {} on worker {}", rec->id.import_id,
                                                                  rec->id.worker)
                                                    : std::string(),
                                   error));
}

RemoteMemory::FreeOutcome RemoteMemory::send_owed(WorkerId worker, const ControlRequest& request,
                                                  void (*check)(const ControlReply&), std::string& error) {
  const int lane = engine_.lane_of(worker);
  // The runner drops its state when its session ends; nothing is replayed on a new one.
  if (lane < 0 || engine_.lane(static_cast<uint32_t>(lane)).failed()) return FreeOutcome::ENDED_WITH_SESSION;
  try {
    check(engine_.control(static_cast<uint32_t>(lane), request, control_deadline()));
  } catch (const std::exception& e) {
    error = e.what();
    return engine_.lane(static_cast<uint32_t>(lane)).failed() ? FreeOutcome::ENDED_WITH_SESSION : FreeOutcome::OWED;
  }
  return FreeOutcome::PAID;
}

RemoteMemory::FreeOutcome RemoteMemory::send_claimed_free(detail::RemoteBufferRecord& record, std::string& error) {
  const detail::RemoteBufferIdentity& id = record.id;
  FreeOutcome outcome;
  try {
    outcome = record.is_import()
                  ? send_owed(id.worker,
                              remote_controls::release_import(id.worker, id.owner, id.buffer_id, id.generation,
                                                              id.import_id),
                              &remote_controls::release_import_result, error)
                  : send_owed(id.owner, remote_controls::free_buffer(id.owner, id.buffer_id, id.generation),
                              &remote_controls::free_result, error);
  } catch (const std::exception& e) {  // a builder refusal: nothing was sent
    error = e.what();
    outcome = FreeOutcome::OWED;
  }
  const bool settled = outcome != FreeOutcome::OWED;
  record.finish_free(settled);
  // The importer's mapping is gone (released, or ended with its session): the owner may go.
  if (settled && record.owner) record.owner->unpin_import();
  return outcome;
}

void RemoteMemory::forget_settled() {
  std::lock_guard l(mu_);
  std::erase_if(owed_, [](const auto& r) { return !r->free_owed(); });
}

uint64_t RemoteMemory::copy_chunk(WorkerId worker) const {
  const auto it = copy_chunk_.find(worker);
  const uint64_t limit = remote_controls::max_copy_chunk_bytes();
  return it == copy_chunk_.end() ? limit : std::min(it->second, limit);
}

void RemoteMemory::flush_due() noexcept {
  std::vector<std::shared_ptr<detail::RemoteBufferRecord>> due;
  {
    std::lock_guard l(mu_);
    if (owed_.empty()) return;
    due = owed_;
  }
  // Import releases first: one may unpin an owner whose free then goes out in the same flush,
  // after it (buffers.md 6: RELEASE_IMPORT, then FREE_REMOTE_BUFFER).
  std::stable_partition(due.begin(), due.end(), [](const auto& r) { return r->is_import(); });
  try {
    for (const auto& rec : due) {
      if (!rec->claim_due_free()) continue;  // still referenced, or another thread is sending it
      std::string error;
      if (send_claimed_free(*rec, error) == FreeOutcome::OWED)
        spdlog::warn("remote buffer {} remains owed (buffer {} of worker {}): {}",
                     rec->is_import() ? "import release" : "free", rec->id.buffer_id, rec->id.owner, error);
    }
    forget_settled();
  } catch (const std::exception& e) {
    spdlog::error("remote memory: flushing owed frees failed: {}", e.what());
  }
}

// --- export / import (buffers.md 3) -------------------------------------------------------------

RemoteBufferExport RemoteMemory::export_range(const RemoteBufferHandle& owner, uint64_t offset, uint64_t nbytes,
                                              uint32_t access) {
  constexpr const char* api = "remote_export";
  const auto& rec = checked_record(owner, api, /*owner_only=*/true);
  const detail::RemoteBufferIdentity& id = rec->id;
  if (rec->released()) throw std::invalid_argument(fmt::format("{}: handle was released (buffer {})", api, id.buffer_id));
  if (nbytes == 0) throw std::invalid_argument(fmt::format("{}: an export covers at least one byte (nbytes > 0)", api));
  if (offset > id.nbytes || nbytes > id.nbytes - offset)
    throw std::out_of_range(fmt::format("{}: range [{}, {}+{}) is outside the {}-byte handle (offset + nbytes <= "
                                        "handle nbytes)", api, offset, offset, nbytes, id.nbytes));
  if (access == 0 || (access & ~id.access) != 0)
    throw std::invalid_argument(fmt::format("{}: access {:#x} must be a non-empty subset of the handle's {:#x}", api,
                                            access, id.access));
  const uint32_t lane = remote_lane(id.owner, api);
  flush_due();
  remote_controls::ExportGrant grant;
  try {
    grant = remote_controls::export_result(
        engine_.control(lane,
                        remote_controls::export_buffer(id.owner, id.buffer_id, id.generation, id.offset + offset,
                                                       nbytes, access),
                        control_deadline()),
        id.owner, id.buffer_id, id.generation, id.offset + offset, nbytes, access);
  } catch (const ControlError& e) {
    throw ControlError(fmt::format("{}: buffer {} of worker {}: {}", api, id.buffer_id, id.owner, e.what()));
  }
  auto ex = std::make_shared<detail::RemoteExportRecord>();
  ex->issuer = engine_.remote_issuer();
  ex->owner = rec;
  ex->generation = id.generation;
  ex->offset = id.offset + offset;
  ex->nbytes = nbytes;
  ex->access = grant.access;
  ex->descriptor = std::move(grant.descriptor);
  flush_due();
  return detail::RemoteExportAccess::make(std::move(ex));
}

const detail::RemoteExportRecord& RemoteMemory::checked_export(const RemoteBufferExport& e, const char* api) const {
  const auto& ex = detail::RemoteExportAccess::record(e);
  if (!ex || !ex->owner || ex->issuer != engine_.remote_issuer() || ex->owner->id.issuer != ex->issuer)
    throw std::invalid_argument(fmt::format("{}: export was not issued by this Worker (exports come from its "
                                            "remote_export)", api));
  const detail::RemoteBufferIdentity& o = ex->owner->id;
  detail::check_handle_invariants(o);
  if (ex->owner->is_import())
    throw std::invalid_argument(fmt::format("{}: export was not issued by this Worker (it names an import)", api));
  if (ex->generation != o.generation)
    throw std::invalid_argument(fmt::format("{}: stale export: it names generation {} of buffer {} of worker {}, the "
                                            "live allocation is generation {}", api, ex->generation, o.buffer_id,
                                            o.owner, o.generation));
  if (ex->owner->released())
    throw std::invalid_argument(fmt::format("{}: stale export: the owner handle was released (buffer {} of worker {})",
                                            api, o.buffer_id, o.owner));
  return *ex;
}

void RemoteMemory::check_importer(const detail::RemoteExportRecord& ex, WorkerId importer, uint32_t requested,
                                  const char* api) const {
  const detail::RemoteBufferIdentity& o = ex.owner->id;
  if (importer == o.owner)
    throw std::invalid_argument(fmt::format("{}: the importer must be a worker other than the owner (worker {} owns "
                                            "buffer {})", api, importer, o.buffer_id));
  remote_lane(importer, api);
  if (requested == 0 || (requested & ~ex.access) != 0)
    throw std::invalid_argument(fmt::format("{}: requested access {:#x} must be a non-empty subset of the export's "
                                            "{:#x}", api, requested, ex.access));
  if (ex.owner->cleanup_uncertain(importer))
    throw std::invalid_argument(fmt::format("{}: buffer {} of worker {} into worker {} is import-cleanup-uncertain (a "
                                            "rollback RELEASE_IMPORT was not confirmed) for the rest of the session",
                                            api, o.buffer_id, o.owner, importer));
}

// The owner pin one remote_import holds until the import's record takes it over, or until the
// import is known not to exist on the runner. keep() leaves it in place for good (cleanup-uncertain).
class RemoteMemory::ImportPin {
 public:
  explicit ImportPin(std::shared_ptr<detail::RemoteBufferRecord> owner) : owner_(std::move(owner)) {
    if (!owner_->pin_import()) {
      const detail::RemoteBufferIdentity& o = owner_->id;
      owner_.reset();
      throw std::invalid_argument(fmt::format("remote_import: stale export: the owner handle was released (buffer {} "
                                              "of worker {})", o.buffer_id, o.owner));
    }
  }
  ImportPin(const ImportPin&) = delete;
  ImportPin& operator=(const ImportPin&) = delete;
  ~ImportPin() { drop(); }
  // Held by the import record from now on, or kept because the runner may still map the buffer.
  void keep() { owner_.reset(); }
  void drop() {
    if (owner_) owner_->unpin_import();  // a free made due here goes out at the next flush
    owner_.reset();
  }

 private:
  std::shared_ptr<detail::RemoteBufferRecord> owner_;
};

bool RemoteMemory::undo_import(WorkerId importer, const std::shared_ptr<detail::RemoteBufferRecord>& owner,
                               uint64_t import_id, ImportPin& pin) {
  const detail::RemoteBufferIdentity& o = owner->id;
  std::string error;
  FreeOutcome outcome;
  try {
    outcome = send_owed(importer, remote_controls::release_import(importer, o.owner, o.buffer_id, o.generation, import_id),
                        &remote_controls::release_import_result, error);
  } catch (const std::exception& e) {
    error = e.what();
    outcome = FreeOutcome::OWED;
  }
  if (outcome != FreeOutcome::OWED) {
    pin.drop();
    return true;
  }
  owner->mark_cleanup_uncertain(importer);
  pin.keep();
  spdlog::warn("remote_import: releasing import {} of buffer {} of worker {} on worker {} was not confirmed; that "
               "pair is import-cleanup-uncertain for the rest of the session: {}",
               import_id, o.buffer_id, o.owner, importer, error);
  return false;
}

RemoteBufferHandle RemoteMemory::import_one(const detail::RemoteExportRecord& ex, WorkerId importer, uint32_t requested) {
  constexpr const char* api = "remote_import";
  const uint32_t lane = remote_lane(importer, api);
  ImportPin pin(ex.owner);  // before the control: a racing free now waits for this import
  const ControlReply reply =
      engine_.control(lane, remote_controls::import_buffer(importer, requested, ex.descriptor), control_deadline());
  remote_controls::ImportGrant grant;
  try {
    grant = remote_controls::import_result(reply, importer, requested, ex.descriptor);
  } catch (const ControlError& e) {
    // A refused or lost import created nothing the parent could name (a lost one ends with the
    // importer's failed session); a malformed success may have mapped: undo it.
    if (const auto id = remote_controls::import_id_of(reply)) undo_import(importer, ex.owner, *id, pin);
    throw ControlError(fmt::format("{}: {}", api, e.what()));
  }
  detail::RemoteBufferIdentity id;
  id.issuer = engine_.remote_issuer();
  id.worker = importer;
  id.owner = ex.owner->id.owner;
  id.buffer_id = ex.owner->id.buffer_id;
  id.generation = ex.generation;
  id.import_id = grant.import_id;
  id.space = RemoteSpace::REMOTE_WINDOW;
  id.offset = ex.offset;
  id.nbytes = ex.nbytes;
  id.access = requested;
  id.remote_addr = grant.remote_addr;
  id.rkey_or_token = grant.rkey_or_token;
  std::shared_ptr<detail::RemoteBufferRecord> record;
  try {
    record = std::make_shared<detail::RemoteBufferRecord>(id, ex.owner);
  } catch (const std::exception& e) {
    undo_import(importer, ex.owner, grant.import_id, pin);
    throw ControlError(fmt::format("{}: IMPORT_BUFFER reply for buffer {} of worker {} into worker {}: {}", api,
                                   id.buffer_id, id.owner, importer, e.what()));
  }
  pin.keep();  // the record holds the pin now; its release drops it
  return detail::RemoteHandleAccess::make(std::move(record));
}

std::vector<RemoteBufferHandle> RemoteMemory::import(const RemoteBufferExport& exported,
                                                     const std::vector<WorkerId>& importers, uint32_t requested) {
  constexpr const char* api = "remote_import";
  const detail::RemoteExportRecord& ex = checked_export(exported, api);
  if (importers.empty()) throw std::invalid_argument(fmt::format("{}: the importer list is empty", api));
  for (size_t i = 0; i < importers.size(); ++i) {
    check_importer(ex, importers[i], requested, api);
    if (std::find(importers.begin(), importers.begin() + static_cast<std::ptrdiff_t>(i), importers[i]) !=
        importers.begin() + static_cast<std::ptrdiff_t>(i))
      throw std::invalid_argument(fmt::format("{}: worker {} is listed twice", api, importers[i]));
  }
  remote_lane(ex.owner->id.owner, api);  // the export belongs to the owner's current, live session
  flush_due();
  std::vector<RemoteBufferHandle> made;
  for (const WorkerId importer : importers) {
    try {
      made.push_back(import_one(ex, importer, requested));
    } catch (const std::exception& e) {
      // All or nothing: the imports already made are released again before the error surfaces.
      std::vector<WorkerId> uncertain;
      for (const RemoteBufferHandle& h : made) {
        const auto& rec = detail::RemoteHandleAccess::record(h);
        rec->release();
        if (!rec->claim_due_free()) continue;  // cannot happen: nobody else has seen the handle
        std::string error;
        if (send_claimed_free(*rec, error) == FreeOutcome::OWED) {
          rec->finish_free(true);  // not retried: the pair is cleanup-uncertain instead
          rec->owner->mark_cleanup_uncertain(rec->id.worker);
          uncertain.push_back(rec->id.worker);
          spdlog::warn("{}: rolling back the import of buffer {} of worker {} on worker {} was not confirmed; that "
                       "pair is import-cleanup-uncertain for the rest of the session: {}",
                       api, rec->id.buffer_id, rec->id.owner, rec->id.worker, error);
        }
      }
      flush_due();
      if (made.empty()) throw;  // nothing to roll back: the import's own error says it all
      throw ControlError(fmt::format("{} into worker {} failed, so the {} import(s) made before it were released{}: {}",
                                     api, importer, made.size(),
                                     uncertain.empty() ? std::string()
                                                       : fmt::format(" (unconfirmed on workers {}: those pairs are "
                                                                     "import-cleanup-uncertain)",
                                                                     fmt::join(uncertain, ", ")),
                                     e.what()));
    }
  }
  flush_due();
  return made;
}

size_t RemoteMemory::owed() const {
  std::lock_guard l(mu_);
  return static_cast<size_t>(std::count_if(owed_.begin(), owed_.end(), [](const auto& r) { return r->free_owed(); }));
}

}  // namespace echelon
