#include "runtime/remote_memory.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "echelon/errors.h"
#include "endpoint/remote_buffer_controls.h"
#include "fmt/format.h"
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

}  // namespace

Deadline RemoteMemory::control_deadline() const {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(control_timeout_s_));
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
    throw std::invalid_argument(fmt::format("{}: needs an owner handle, but buffer {} is imported into worker {}", api,
                                            rec->id.buffer_id, rec->id.worker));
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
    const uint64_t chunk = remote_controls::max_copy_chunk_bytes();
    for (uint64_t done = 0; done < src.size();) {
      const uint64_t n = std::min<uint64_t>(chunk, src.size() - done);
      try {
        remote_controls::copy_to_result(hold.control(
            remote_controls::copy_to(id.owner, id.buffer_id, id.generation, id.offset + offset + done, src.subspan(done, n)),
            control_deadline()));
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
    const uint64_t chunk = remote_controls::max_copy_chunk_bytes();
    for (uint64_t done = 0; done < dst.size();) {
      const uint64_t n = std::min<uint64_t>(chunk, dst.size() - done);
      try {
        remote_controls::copy_from_result(
            hold.control(remote_controls::copy_from(id.owner, id.buffer_id, id.generation, id.offset + offset + done, n),
                         control_deadline()),
            dst.subspan(done, n));
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
  if (rec->release()) {
    std::lock_guard l(mu_);
    owed_.push_back(rec);
  }
  // Sent now only when nothing holds the buffer; a repeat of a paid free claims nothing (BUF-6),
  // and a repeat of a refused one retries it.
  if (!rec->claim_due_free()) return;
  std::string error;
  const FreeOutcome outcome = send_claimed_free(*rec, error);
  forget_settled();
  if (outcome == FreeOutcome::OWED)
    throw ControlError(fmt::format("{}: remote buffer free remains owed (buffer {} of worker {}): {}", api,
                                   rec->id.buffer_id, rec->id.owner, error));
}

RemoteMemory::FreeOutcome RemoteMemory::send_claimed_free(detail::RemoteBufferRecord& record, std::string& error) {
  const detail::RemoteBufferIdentity& id = record.id;
  const int lane = engine_.lane_of(id.owner);
  if (lane < 0 || engine_.lane(static_cast<uint32_t>(lane)).failed()) {
    // The runner frees everything when its session ends; nothing is replayed on a new one.
    record.finish_free(true);
    return FreeOutcome::ENDED_WITH_SESSION;
  }
  try {
    remote_controls::free_result(engine_.control(static_cast<uint32_t>(lane),
                                                 remote_controls::free_buffer(id.owner, id.buffer_id, id.generation),
                                                 control_deadline()));
  } catch (const std::exception& e) {
    const bool session_gone = engine_.lane(static_cast<uint32_t>(lane)).failed();
    record.finish_free(session_gone);
    error = e.what();
    return session_gone ? FreeOutcome::ENDED_WITH_SESSION : FreeOutcome::OWED;
  }
  record.finish_free(true);
  return FreeOutcome::PAID;
}

void RemoteMemory::forget_settled() {
  std::lock_guard l(mu_);
  std::erase_if(owed_, [](const auto& r) { return !r->free_owed(); });
}

void RemoteMemory::flush_due() noexcept {
  std::vector<std::shared_ptr<detail::RemoteBufferRecord>> due;
  {
    std::lock_guard l(mu_);
    if (owed_.empty()) return;
    due = owed_;
  }
  try {
    for (const auto& rec : due) {
      if (!rec->claim_due_free()) continue;  // still referenced, or another thread is sending it
      std::string error;
      if (send_claimed_free(*rec, error) == FreeOutcome::OWED)
        spdlog::warn("remote buffer free remains owed (buffer {} of worker {}): {}", rec->id.buffer_id, rec->id.owner,
                     error);
    }
    forget_settled();
  } catch (const std::exception& e) {
    spdlog::error("remote memory: flushing owed frees failed: {}", e.what());
  }
}

size_t RemoteMemory::owed() const {
  std::lock_guard l(mu_);
  return static_cast<size_t>(std::count_if(owed_.begin(), owed_.end(), [](const auto& r) { return r->free_owed(); }));
}

}  // namespace echelon
