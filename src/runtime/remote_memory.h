// The parent side of remote memory (buffers.md 3 and 6): the checks every Worker::remote_* call
// makes before anything is sent, the buffer controls it sends through the engine's control path,
// and the owed frees of released handles.
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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/remote_buffer_record.h"
#include "echelon/remote_buffer.h"
#include "runtime/engine.h"

namespace echelon {

class RemoteMemory {
 public:
  RemoteMemory(Engine& engine, double control_timeout_s) : engine_(engine), control_timeout_s_(control_timeout_s) {}

  RemoteBufferHandle malloc(WorkerId worker, uint64_t nbytes);
  void copy_to(const RemoteBufferHandle& dst, uint64_t offset, std::span<const std::byte> src);
  void copy_from(const RemoteBufferHandle& src, uint64_t offset, std::span<std::byte> dst);
  void free(const RemoteBufferHandle& owner);

  // Sends every owed free that nothing holds any more; failures stay owed and are logged.
  void flush_due() noexcept;
  // Frees still owed (diagnostics and tests).
  size_t owed() const;

 private:
  enum class FreeOutcome { PAID, OWED, ENDED_WITH_SESSION };

  uint32_t remote_lane(WorkerId worker, const char* api) const;
  // The record of a live-checked handle of this Worker; `owner_only` refuses imports.
  const std::shared_ptr<detail::RemoteBufferRecord>& checked_record(const RemoteBufferHandle& h, const char* api,
                                                                     bool owner_only) const;
  // Sends FREE_REMOTE_BUFFER for a record whose free this thread claimed; settles the claim.
  FreeOutcome send_claimed_free(detail::RemoteBufferRecord& record, std::string& error);
  void forget_settled();
  Deadline control_deadline() const;

  Engine& engine_;
  const double control_timeout_s_;
  mutable std::mutex mu_;  // guards owed_; never held while a control is sent
  std::vector<std::shared_ptr<detail::RemoteBufferRecord>> owed_;
};

}  // namespace echelon
