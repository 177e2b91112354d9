// RemoteBufferHandle, RemoteBufferExport, RemoteTensorRef and the parent-side buffer and export
// records (buffers.md 2, 3, 4, 6).
#include <algorithm>
#include <limits>
#include <stdexcept>

#include "core/remote_buffer_export.h"
#include "core/remote_buffer_record.h"
#include "echelon/tensor.h"
#include "fmt/format.h"

namespace echelon {

const char* to_string(RemoteSpace s) {
  switch (s) {
    case RemoteSpace::HOST_INLINE: return "HOST_INLINE";
    case RemoteSpace::REMOTE_DEVICE: return "REMOTE_DEVICE";
    case RemoteSpace::REMOTE_WINDOW: return "REMOTE_WINDOW";
  }
  return "INVALID";
}

namespace detail {

void check_handle_invariants(const RemoteBufferIdentity& id) {
  auto broken = [&](const std::string& why) {
    throw std::invalid_argument(fmt::format("remote buffer handle (worker {}, owner {}, buffer {}, generation {}): {} "
                                            "(BUF-1)", id.worker, id.owner, id.buffer_id, id.generation, why));
  };
  if (id.worker < 0 || id.owner < 0) broken("worker ids must be >= 0");
  if (id.buffer_id == 0) broken("buffer_id 0 names no allocation");
  if (id.generation == 0) broken("generation 0 is reserved");
  // Placeholders carry a 32-bit generation that must equal the descriptor's (protocol.md 6.3).
  if (id.generation > std::numeric_limits<uint32_t>::max()) broken("generation does not fit 32 bits");
  if (id.nbytes == 0) broken("a handle never covers zero bytes");
  if (id.offset > std::numeric_limits<uint64_t>::max() - id.nbytes) broken("offset + nbytes overflows");
  if (id.access == 0 || (id.access & ~REMOTE_ACCESS_READ_WRITE) != 0)
    broken(fmt::format("access flags {:#x} are empty or carry unknown bits", id.access));
  switch (id.space) {
    case RemoteSpace::REMOTE_DEVICE:
      if (id.import_id != 0) broken("a REMOTE_DEVICE handle is an owner handle and has import_id 0");
      if (id.worker != id.owner) broken("a REMOTE_DEVICE handle is consumed only by its owner (worker != owner)");
      if (id.offset != 0) broken("an owner handle covers its allocation from offset 0");
      break;
    case RemoteSpace::REMOTE_WINDOW:
      if (id.import_id == 0) broken("an imported handle needs an import_id");
      if (id.worker == id.owner) broken("an import is consumed by a worker other than the owner");
      break;
    default:
      broken(fmt::format("address space {} is not a handle's space (inline payloads have no handle)",
                         to_string(id.space)));
  }
}

RemoteBufferRecord::RemoteBufferRecord(const RemoteBufferIdentity& identity) : id(identity) {
  check_handle_invariants(id);
}

RemoteBufferRecord::RemoteBufferRecord(const RemoteBufferIdentity& identity,
                                       std::shared_ptr<RemoteBufferRecord> owner_record)
    : id(identity), owner(std::move(owner_record)) {
  check_handle_invariants(id);
  if (!owner || !is_import() || owner->is_import())
    throw std::invalid_argument("remote buffer import record: needs an imported identity and its owner's record");
  const RemoteBufferIdentity& o = owner->id;
  if (o.issuer != id.issuer || o.owner != id.owner || o.buffer_id != id.buffer_id || o.generation != id.generation)
    throw std::invalid_argument(fmt::format("remote buffer import record: names buffer {} generation {} of worker {}, "
                                            "but its owner record is buffer {} generation {} of worker {}",
                                            id.buffer_id, id.generation, id.owner, o.buffer_id, o.generation, o.owner));
  if (id.offset > o.nbytes || id.nbytes > o.nbytes - id.offset)
    throw std::invalid_argument(fmt::format("remote buffer import record: range [{}, {}+{}) lies outside the {}-byte "
                                            "owner allocation", id.offset, id.offset, id.nbytes, o.nbytes));
}

uint32_t RemoteBufferRecord::live_imports() const {
  std::lock_guard l(mu_);
  return live_imports_;
}

bool RemoteBufferRecord::pin_import() {
  std::lock_guard l(mu_);
  if (released_) return false;
  ++live_imports_;
  return true;
}

bool RemoteBufferRecord::unpin_import() {
  std::lock_guard l(mu_);
  if (live_imports_ == 0) return false;  // unbalanced: never make a free due twice
  return --live_imports_ == 0 && live_refs_ == 0 && free_owed_ && !free_in_flight_;
}

void RemoteBufferRecord::mark_cleanup_uncertain(WorkerId importer) {
  std::lock_guard l(mu_);
  if (std::find(uncertain_importers_.begin(), uncertain_importers_.end(), importer) == uncertain_importers_.end())
    uncertain_importers_.push_back(importer);
}

bool RemoteBufferRecord::cleanup_uncertain(WorkerId importer) const {
  std::lock_guard l(mu_);
  return std::find(uncertain_importers_.begin(), uncertain_importers_.end(), importer) != uncertain_importers_.end();
}

bool RemoteBufferRecord::released() const {
  std::lock_guard l(mu_);
  return released_;
}

uint32_t RemoteBufferRecord::live_slot_refs() const {
  std::lock_guard l(mu_);
  return live_refs_;
}

bool RemoteBufferRecord::free_owed() const {
  std::lock_guard l(mu_);
  return free_owed_;
}

bool RemoteBufferRecord::capture_ref() {
  std::lock_guard l(mu_);
  if (released_) return false;
  ++live_refs_;
  return true;
}

bool RemoteBufferRecord::drop_ref() {
  std::lock_guard l(mu_);
  if (live_refs_ == 0) return false;  // unbalanced drop: never make a free due twice
  return --live_refs_ == 0 && live_imports_ == 0 && free_owed_ && !free_in_flight_;
}

bool RemoteBufferRecord::release() {
  std::lock_guard l(mu_);
  if (released_) return false;
  released_ = true;
  free_owed_ = true;
  return true;
}

bool RemoteBufferRecord::claim_due_free() {
  std::lock_guard l(mu_);
  if (!free_owed_ || free_in_flight_ || live_refs_ != 0 || live_imports_ != 0) return false;
  free_in_flight_ = true;
  return true;
}

void RemoteBufferRecord::finish_free(bool paid) {
  std::lock_guard l(mu_);
  free_in_flight_ = false;
  if (paid) free_owed_ = false;
}

}  // namespace detail

namespace {

const detail::RemoteBufferRecord& live_record(const std::shared_ptr<detail::RemoteBufferRecord>& r) {
  if (!r) throw std::invalid_argument("RemoteBufferHandle is empty (handles come from Worker::remote_malloc)");
  return *r;
}

// shape × element size with overflow checks; validates the geometry like any tensor.
uint64_t view_bytes(const std::vector<uint32_t>& shape, DataType dtype) {
  Tensor t;
  try {
    t = Tensor::unbound(std::span<const uint32_t>(shape.data(), shape.size()), dtype);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("RemoteTensorRef: {}", e.what()));
  }
  const uint64_t n = t.numel(), esize = element_size(dtype);
  if (n > std::numeric_limits<uint64_t>::max() / esize)
    throw std::invalid_argument("RemoteTensorRef: the view's byte size overflows 64 bits");
  return n * esize;
}

}  // namespace

WorkerId RemoteBufferHandle::worker() const { return live_record(record_).id.worker; }
WorkerId RemoteBufferHandle::owner_worker() const { return live_record(record_).id.owner; }
uint64_t RemoteBufferHandle::nbytes() const { return live_record(record_).id.nbytes; }
RemoteSpace RemoteBufferHandle::address_space() const { return live_record(record_).id.space; }
bool RemoteBufferHandle::is_imported() const { return live_record(record_).is_import(); }
bool RemoteBufferHandle::released() const { return live_record(record_).released(); }

namespace {
const detail::RemoteExportRecord& live_export(const std::shared_ptr<const detail::RemoteExportRecord>& r) {
  if (!r) throw std::invalid_argument("RemoteBufferExport is empty (exports come from Worker::remote_export)");
  return *r;
}
}  // namespace

WorkerId RemoteBufferExport::owner_worker() const { return live_export(record_).owner->id.owner; }
uint64_t RemoteBufferExport::nbytes() const { return live_export(record_).nbytes; }
uint32_t RemoteBufferExport::access() const { return live_export(record_).access; }

RemoteTensorRef::RemoteTensorRef(const RemoteBufferHandle& handle, uint64_t offset, std::vector<uint32_t> shape,
                                 DataType dtype)
    : handle_(handle), offset_(offset), shape_(std::move(shape)), dtype_(dtype) {
  const detail::RemoteBufferRecord& r = live_record(handle_.record_);
  if (r.released())
    throw std::invalid_argument(fmt::format("RemoteTensorRef: handle was released (buffer {} on worker {})",
                                            r.id.buffer_id, r.id.owner));
  const uint64_t bytes = view_bytes(shape_, dtype_);
  if (offset_ > r.id.nbytes || bytes > r.id.nbytes - offset_)
    throw std::out_of_range(fmt::format("RemoteTensorRef: view [{}, {}+{}) does not fit the {}-byte handle "
                                        "(offset + nbytes <= handle nbytes)", offset_, offset_, bytes, r.id.nbytes));
}

RemoteTensorRef RemoteTensorRef::host_inline(std::span<const std::byte> bytes, std::vector<uint32_t> shape,
                                             DataType dtype) {
  RemoteTensorRef ref;
  ref.shape_ = std::move(shape);
  ref.dtype_ = dtype;
  const uint64_t want = view_bytes(ref.shape_, dtype);
  if (bytes.size() != want)
    throw std::invalid_argument(fmt::format("RemoteTensorRef::host_inline: {} bytes given, the shape needs {} "
                                            "(shape x element size)", bytes.size(), want));
  if (want > MAX_INLINE_ARENA_BYTES)
    throw std::invalid_argument(fmt::format("RemoteTensorRef::host_inline: {} bytes exceed the {}-byte inline arena "
                                            "of a task", want, MAX_INLINE_ARENA_BYTES));
  ref.inline_bytes_.assign(bytes.begin(), bytes.end());
  return ref;
}

uint64_t RemoteTensorRef::nbytes() const { return view_bytes(shape_, dtype_); }

}  // namespace echelon
