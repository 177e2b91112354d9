// Remote buffers seen from a level >= 4 Worker (buffers.md sections 2-4): opaque handles to memory
// that a remote L3 session owns, and the tensor references that name that memory in a task.
// Nothing here exposes a transport key, a runner address or a descriptor the user could forge
// (BUF-2): handles are created only by Worker::remote_malloc, Worker::remote_import and
// RemoteTensorRef::host_inline, exports only by Worker::remote_export.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "echelon/data_type.h"
#include "echelon/ids.h"

namespace echelon {

class Worker;

// Where a remote argument's bytes live (protocol.md 6.4 RemoteAddressSpace; same numbering).
enum class RemoteSpace : uint8_t {
  HOST_INLINE = 1,    // copied into the TASK frame; input only
  REMOTE_DEVICE = 2,  // an owner allocation on the consuming worker
  REMOTE_WINDOW = 3,  // an imported view of a peer's allocation
};
const char* to_string(RemoteSpace s);

// Access grant bits (buffers.md 2).
inline constexpr uint32_t REMOTE_ACCESS_READ = 0x1;
inline constexpr uint32_t REMOTE_ACCESS_WRITE = 0x2;
inline constexpr uint32_t REMOTE_ACCESS_READ_WRITE = 0x3;

namespace detail {
// Parent-side record of one remote allocation or import (src/core/remote_buffer_record.h).
struct RemoteBufferRecord;
// How the runtime reaches a handle's record (src/core/remote_buffer_record.h); not for users.
struct RemoteHandleAccess;
// Parent-side record of one export (src/core/remote_buffer_export.h).
struct RemoteExportRecord;
struct RemoteExportAccess;
}  // namespace detail

// Opaque, copyable reference to a parent-side buffer record. A default-constructed handle is
// empty; every Worker call refuses an empty handle.
class RemoteBufferHandle {
 public:
  RemoteBufferHandle() = default;

  explicit operator bool() const { return record_ != nullptr; }
  WorkerId worker() const;        // the worker that can consume it in a task
  WorkerId owner_worker() const;  // the worker that owns the physical allocation
  uint64_t nbytes() const;
  RemoteSpace address_space() const;
  bool is_imported() const;
  bool released() const;  // remote_free / remote_release_import was called

  friend bool operator==(const RemoteBufferHandle& a, const RemoteBufferHandle& b) {
    return a.record_ == b.record_;
  }

 private:
  friend class Worker;
  friend class RemoteTensorRef;
  friend struct detail::RemoteHandleAccess;
  explicit RemoteBufferHandle(std::shared_ptr<detail::RemoteBufferRecord> record) : record_(std::move(record)) {}
  std::shared_ptr<detail::RemoteBufferRecord> record_;
};

// A range of an owner allocation made importable by Worker::remote_export (buffers.md 3). Opaque
// and copyable; bound to the Worker that minted it and to the owner's allocation, so it is
// refused by any other Worker and once the owner is freed. It holds nothing the user must release
// (the runner keeps export registrations until the owner is physically freed) and exposes no
// transport descriptor. A default-constructed export is empty; remote_import refuses it.
class RemoteBufferExport {
 public:
  RemoteBufferExport() = default;

  explicit operator bool() const { return record_ != nullptr; }
  WorkerId owner_worker() const;
  uint64_t nbytes() const;  // size of the exported range
  uint32_t access() const;  // REMOTE_ACCESS_* bits an import may request a subset of

 private:
  friend struct detail::RemoteExportAccess;
  explicit RemoteBufferExport(std::shared_ptr<const detail::RemoteExportRecord> record) : record_(std::move(record)) {}
  std::shared_ptr<const detail::RemoteExportRecord> record_;
};

// What a TASK carries for one remote tensor argument (protocol.md 6.4) in parent terms. Built by
// TaskArgs from a RemoteTensorRef; the remote endpoint turns it into a RemoteTensorDescWire.
struct RemoteTensorDesc {
  RemoteSpace address_space = RemoteSpace::HOST_INLINE;
  WorkerId owner_worker_id = 0;
  uint64_t buffer_id = 0;   // 0 for HOST_INLINE
  uint64_t generation = 0;  // 0 for HOST_INLINE
  uint64_t offset = 0;      // owner-relative start of the view (0 for HOST_INLINE)
  uint64_t nbytes = 0;
  uint64_t remote_addr = 0;    // profile data, never shown to users
  uint64_t rkey_or_token = 0;  // profile data, never shown to users
  uint64_t inline_offset = 0;  // HOST_INLINE: slice of the TaskArgs inline arena
  uint64_t inline_len = 0;
  uint32_t access_flags = REMOTE_ACCESS_READ;  // what the handle grants

  friend bool operator==(const RemoteTensorDesc&, const RemoteTensorDesc&) = default;
};

// A tensor argument over remote memory: a view of `handle` starting `offset` bytes into the
// handle's range, row-major with `shape` and `dtype`. Construction checks that the view fits the
// handle and that the handle is live (buffers.md 4); it throws std::invalid_argument /
// std::out_of_range naming the rule otherwise. The handle is checked again at submit: a handle
// released after the ref was built is refused then.
class RemoteTensorRef {
 public:
  RemoteTensorRef(const RemoteBufferHandle& handle, uint64_t offset, std::vector<uint32_t> shape, DataType dtype);

  // Read-only snapshot of `bytes` carried inside the TASK frame (input only, at most 1 MiB per
  // task). `bytes.size()` must equal the shape's element count times the element size.
  static RemoteTensorRef host_inline(std::span<const std::byte> bytes, std::vector<uint32_t> shape, DataType dtype);

  const std::vector<uint32_t>& shape() const { return shape_; }
  DataType dtype() const { return dtype_; }
  uint64_t offset() const { return offset_; }
  uint64_t nbytes() const;
  bool is_inline() const { return !handle_; }
  const RemoteBufferHandle& handle() const { return handle_; }
  std::span<const std::byte> inline_bytes() const { return inline_bytes_; }

 private:
  RemoteTensorRef() = default;
  RemoteBufferHandle handle_;
  uint64_t offset_ = 0;
  std::vector<uint32_t> shape_;
  DataType dtype_ = DataType::UINT8;
  std::vector<std::byte> inline_bytes_;
};

// The per-TaskArgs sidecar (buffers.md 4), indexed like the tensors. Empty when no argument is
// remote. The slot keeps its own copy for its whole life; the handle references are what keep a
// freed buffer alive until every slot naming it is consumed (buffers.md 6).
struct RemoteArgs {
  std::vector<std::optional<RemoteTensorDesc>> descs;  // one entry per tensor, or empty
  std::vector<uint8_t> inline_arena;                    // HOST_INLINE bytes, at most 1 MiB
  std::vector<std::shared_ptr<detail::RemoteBufferRecord>> handles;  // parallel to descs; null = inline/none

  bool empty() const { return descs.empty(); }
  bool has(size_t index) const { return index < descs.size() && descs[index].has_value(); }
};

inline constexpr uint64_t MAX_INLINE_ARENA_BYTES = uint64_t{1} << 20;

}  // namespace echelon
