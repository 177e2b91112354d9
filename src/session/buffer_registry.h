// The runner's buffer registry for one session (buffers.md 5, 9.2): owner allocations, their
// export registrations, and importer-local mappings of peer allocations.
//
// - Owner entries are keyed (buffer_id, generation). buffer_ids come from a per-session counter
//   starting at 1 and are never reused, so every generation is 1; generations are still checked
//   everywhere, so an allocator that recycles ids only has to bump them.
// - Every allocation is a POSIX shared-memory object named by session_shm_names.h, created with
//   O_CREAT | O_EXCL, 0600, ftruncate + posix_fallocate, zero-filled, so the inner Worker's forked
//   chip and SUB children can map it by name.
// - Import entries are keyed (owner_worker_id, buffer_id, generation, import_id); on host_tcp an
//   import maps the owner's object by name, which needs both runners on one host.
// - ucx (9.3): every allocation is also registered for RMA with the session's data plane (the
//   registration goes before the shared memory); exports carry the owner's address of the range
//   and a UcxExportDescriptor. An import whose host token is this runner's maps the object as on
//   host_tcp (zero copy); any other is an RMA import that records the owner's data worker, address
//   and packed key, maps nothing, and is copied in / out per task (task_args_materialiser.h).
//
// Every operation either applies completely or throws BufferRefusal with the code of the
// buffers.md 5 table and changes nothing. The registry is used by the command-loop thread only
// (controls and TASK materialisation are serialised on the command lane), so it has no lock.
// Destruction (and release_all) releases every import mapping first, then frees every owner
// allocation: no shared-memory object of the session survives it.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>
#include "echelon/buffer.h"
#include "echelon/host_buffer.h"
#include "remote/session_shm_names.h"
#include "session/host_token.h"
#include "transport/ucx/ucx_api.h"
#include "wire/buffer_controls.h"
#include "wire/remote_desc.h"

namespace echelon::transport {
class UcxDataPlane;
struct ByteRun;
}

namespace echelon::session {

// The object names are shared with the daemon, which sweeps a dead runner's objects by prefix.
using remote::MAX_SHM_COUNTER;
using remote::parse_session_shm_name;
using remote::session_shm_name;
using remote::session_shm_prefix;
using remote::ShmKind;


struct BufferRegistryConfig {
  uint64_t session_id = 0;
  int32_t worker_id = 0;
  HostToken host_token{};                 // local_host_token() in the runner
  std::string transport_profile = "host_tcp";  // the session's profile; exports carry it
  // ucx sessions: the runner's data plane (RMA) and the parent's command-worker address, which
  // version-2 copies reach the parent's memory through. Null / empty on host_tcp.
  transport::UcxDataPlane* data_plane = nullptr;
  std::vector<uint8_t> parent_command_worker;
};

class BufferRegistry {
 public:
  explicit BufferRegistry(BufferRegistryConfig config);
  ~BufferRegistry();
  BufferRegistry(const BufferRegistry&) = delete;
  BufferRegistry& operator=(const BufferRegistry&) = delete;

  // ---- buffer-family controls (protocol.md 9.2) ----
  wire::AllocResult alloc(const wire::AllocRequest& request);
  // Idempotent: an unknown or already-freed (buffer_id, generation) is success.
  void free(const wire::BufferRef& ref);
  // Writes the view's bytes straight into the allocation: the COPY_TO_REMOTE data stays in the
  // frame it arrived in until here.
  void copy_to(const wire::CopyToView& request);
  void copy_to(const wire::CopyRequest& request);
  // copy_to() without the data: the same checks and refusals for a head whose `size` data bytes
  // are still to arrive, then where they go in the allocation (`request.data` is ignored). For a
  // receiver that reads the data straight into shared memory. Valid until the registry changes.
  std::span<uint8_t> copy_to_destination(const wire::CopyToView& request);
  // Exactly request.size bytes. A size above `max_result_bytes` (what one CONTROL_REPLY can carry)
  // is REJECTED after the table's checks, before anything is allocated for it.
  std::vector<uint8_t> copy_from(const wire::CopyRequest& request, uint64_t max_result_bytes);
  // copy_from() without the copy: the same checks and refusals, then a view of the requested bytes
  // in the allocation. Valid until the registry changes (the command loop sends it at once).
  std::span<const uint8_t> copy_from_view(const wire::CopyRequest& request, uint64_t max_result_bytes) const;
  wire::ExportBufferResult export_buffer(const wire::ExportBufferRequest& request);
  wire::ImportBufferResult import_buffer(const wire::ImportBufferRequest& request);
  // Idempotent for an already-released mapping with exactly the same key.
  void release_import(const wire::ReleaseImportRequest& request);
  // COPY_TO_REMOTE / COPY_FROM_REMOTE version 2: the same checks and refusals as version 1, then
  // the allocation's bytes the runner's RMA reads or writes. Valid until the registry changes.
  std::span<uint8_t> rma_copy_range(const wire::CopyRmaRequest& request);

  // ---- TASK arguments (protocol.md 6.4, 6.5) ----
  // The local backing a REMOTE_DEVICE / REMOTE_WINDOW descriptor names, after the runner rules of
  // 6.4 (owner, live, generation / import id, range). The backing is the whole shared-memory
  // object mapped from its first byte, so the view's byte_offset is desc.offset. Owner entries
  // grant READWRITE, imports their granted access.
  BufferDescriptor resolve_owner(const wire::RemoteTensorDescWire& desc) const;
  // A mapped (same-host) import only; an RMA import is REJECTED here (see rma_import).
  BufferDescriptor resolve_import(const wire::RemoteTensorDescWire& desc) const;

  // An import reached by RMA (ucx, owner on another host): what the materialiser needs.
  struct RmaImport {
    uint64_t import_id = 0;
    int32_t owner_worker_id = 0;
    uint64_t buffer_id = 0;
    uint32_t access_flags = 0;  // the import's grant
  };
  // After resolve_import's checks: the RMA import a REMOTE_WINDOW descriptor names, or nullopt
  // when that import is mapped here (then resolve_import gives its backing).
  std::optional<RmaImport> rma_import(const wire::RemoteTensorDescWire& desc) const;
  // Blocking RMA on a live RMA import (bounded); `offset` is owner-relative and the range must lie
  // inside the imported range. Throws echelon::Error naming the import, the buffer and the
  // transport error. rma_get reads local.size() bytes at `offset`; rma_put_runs writes each run
  // [o, o + n) of local_base to offset + o, then flushes once.
  void rma_get(uint64_t import_id, uint64_t offset, std::span<uint8_t> local);
  void rma_put_runs(uint64_t import_id, uint64_t offset, const uint8_t* local_base,
                    std::span<const transport::ByteRun> runs);

  // A fresh per-task inline buffer named /es<session>_i<n> (grant `access`, READ by default;
  // released by the caller).
  HostBuffer make_inline_buffer(uint64_t nbytes, AccessMode access = AccessMode::READ);

  // Releases every import mapping, then frees every owner allocation. Idempotent; never throws.
  void release_all() noexcept;

  // ---- inspection (tests, logs) ----
  size_t owner_count() const { return owners_.size(); }
  size_t import_count() const { return imports_.size(); }
  size_t export_count() const;
  // The POSIX name of a live owner allocation.
  std::optional<std::string> owner_shm_name(uint64_t buffer_id) const;
  const BufferRegistryConfig& config() const { return config_; }

 private:
  struct ExportRegistration {
    uint64_t export_id = 0;
    uint64_t offset = 0;
    uint64_t nbytes = 0;
    uint32_t access_flags = 0;
    std::string requested_profile;  // as the request spelled it ("" or the session's profile)
  };
  struct OwnerEntry {
    uint64_t generation = 0;
    HostBuffer backing;
    std::vector<ExportRegistration> exports;
    // ucx: the RMA registration of `backing`; declared after it, so it goes first.
    std::unique_ptr<transport::ucx::Registration> registration;
  };
  struct ImportKey {
    int32_t owner_worker_id = 0;
    uint64_t buffer_id = 0;
    uint64_t generation = 0;
    uint64_t import_id = 0;
    friend bool operator==(const ImportKey&, const ImportKey&) = default;
  };
  struct ImportEntry {
    ImportKey key;
    uint64_t offset = 0;  // the imported range, owner-relative
    uint64_t nbytes = 0;
    uint32_t access_flags = 0;
    HostBuffer mapping;  // the owner's object from its first byte to offset + nbytes (same host)
    // RMA import (ucx, foreign host): no mapping; the owner's data worker, the owner's address of
    // `offset` and the packed key of its registration.
    bool rma = false;
    std::vector<uint8_t> owner_worker_addr;
    uint64_t remote_addr = 0;
    std::vector<uint8_t> packed_rkey;
  };

  void require_this_worker(int32_t named, const char* field) const;
  // The live entry for (buffer_id, generation): NOT_FOUND, STALE, or REJECTED for a freed one.
  OwnerEntry& live_owner(uint64_t buffer_id, uint64_t generation);
  const OwnerEntry& live_owner(uint64_t buffer_id, uint64_t generation) const;
  const ImportEntry& live_import(int32_t owner, uint64_t buffer_id, uint64_t generation, uint64_t import_id) const;
  // live_import plus the descriptor range inside the imported range.
  const ImportEntry& checked_import(const wire::RemoteTensorDescWire& desc) const;
  // The live RMA import `import_id` with [offset, offset + bytes) inside its range, as a RemoteRange.
  const ImportEntry& rma_entry(uint64_t import_id, uint64_t offset, uint64_t bytes) const;
  wire::ImportBufferResult import_result(const wire::ImportBufferRequest& request, uint64_t import_id) const;
  // Whether a peer's host token names this host (false for every peer with the test hook armed).
  bool same_host(const HostToken& token) const;
  void release_remote_key(const ImportEntry& entry) const noexcept;

  BufferRegistryConfig config_;
  bool foreign_peers_ = false;  // foreign_host_token_hook()
  uint64_t next_buffer_id_ = 1;
  uint64_t next_export_id_ = 1;
  uint64_t next_import_id_ = 1;
  uint64_t next_inline_id_ = 1;
  std::map<uint64_t, OwnerEntry> owners_;              // buffer_id -> live allocation
  std::map<uint64_t, uint64_t> freed_;                 // buffer_id -> generation that was freed
  std::map<uint64_t, ImportEntry> imports_;            // import_id -> live mapping
  std::map<uint64_t, ImportKey> released_imports_;     // import_id -> the key it had
};

}  // namespace echelon::session
