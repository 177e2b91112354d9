#include "session/buffer_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>

#include "session/buffer_refusal.h"
#include "session/host_tcp_export_descriptor.h"
#include "session/ucx_export_descriptor.h"
#include "transport/ucx_data_plane.h"
#include "remote/session_shm_names.h"
#include "wire/wire_error.h"

namespace echelon::session {

namespace {

using wire::WireStatus;

[[noreturn]] void refuse(WireStatus status, std::string what) { throw BufferRefusal(status, what); }

// offset + size <= total without overflow (protocol.md 14 item 18).
bool range_inside(uint64_t offset, uint64_t size, uint64_t total) { return size <= total && offset <= total - size; }

std::string range_text(uint64_t offset, uint64_t size) { return fmt::format("[{}, +{})", offset, size); }

// Bounds one task's copy-in or copy-out (and a key release): a stalled owner must not hold the
// command loop forever. As version-2 copies (buffer_control_handler.cpp).
constexpr auto kRmaTaskBound = std::chrono::seconds(300);
constexpr auto kRmaReleaseBound = std::chrono::seconds(10);

AccessMode access_mode(uint32_t flags) {
  const bool r = flags & wire::REMOTE_BUFFER_ACCESS_READ, w = flags & wire::REMOTE_BUFFER_ACCESS_WRITE;
  return r && w ? AccessMode::READWRITE : w ? AccessMode::WRITE : AccessMode::READ;
}

// Error text of a failed shm call without the object's name: names are transport data that no
// message may reveal (BUF-2).
std::string system_reason(const HostBufferError& e) {
  return e.sys_errno() != 0 ? std::strerror(e.sys_errno()) : std::string("the object does not fit");
}

}  // namespace

BufferRegistry::BufferRegistry(BufferRegistryConfig config)
    : config_(std::move(config)), foreign_peers_(foreign_host_token_hook()) {}

bool BufferRegistry::same_host(const HostToken& token) const { return !foreign_peers_ && token == config_.host_token; }

void BufferRegistry::release_remote_key(const ImportEntry& entry) const noexcept {
  if (!entry.rma || config_.data_plane == nullptr) return;
  try {
    config_.data_plane->release_remote_key(entry.owner_worker_addr, entry.packed_rkey,
                                           transport::Clock::now() + kRmaReleaseBound);
  } catch (const std::exception& e) {
    spdlog::warn("session {:016x}: releasing the remote key of import {}: {}", config_.session_id, entry.key.import_id,
                 e.what());
  }
}

BufferRegistry::~BufferRegistry() { release_all(); }

void BufferRegistry::release_all() noexcept {
  // Imports first (buffers.md 5): a mapping never outlives the registry that could still name
  // the owner, and only then are the owner objects unmapped and unlinked.
  if (!imports_.empty() || !owners_.empty())
    spdlog::debug("session {:016x}: releasing {} imports and {} allocations", config_.session_id, imports_.size(),
                  owners_.size());
  for (auto& [id, entry] : imports_) {
    released_imports_.emplace(id, entry.key);
    release_remote_key(entry);
  }
  imports_.clear();
  for (auto& [id, entry] : owners_) {
    freed_.emplace(id, entry.generation);
    entry.registration.reset();  // ucp_mem_unmap before the shared memory goes
  }
  owners_.clear();
}

size_t BufferRegistry::export_count() const {
  size_t n = 0;
  for (const auto& [id, entry] : owners_) n += entry.exports.size();
  return n;
}

std::optional<std::string> BufferRegistry::owner_shm_name(uint64_t buffer_id) const {
  const auto it = owners_.find(buffer_id);
  if (it == owners_.end()) return std::nullopt;
  return std::string(it->second.backing.shm_name());
}

void BufferRegistry::require_this_worker(int32_t named, const char* field) const {
  if (named != config_.worker_id)
    refuse(WireStatus::REJECTED, fmt::format("{} {} is not this runner (worker {})", field, named, config_.worker_id));
}

const BufferRegistry::OwnerEntry& BufferRegistry::live_owner(uint64_t buffer_id, uint64_t generation) const {
  const auto it = owners_.find(buffer_id);
  if (it != owners_.end()) {
    if (it->second.generation != generation)
      refuse(WireStatus::STALE, fmt::format("buffer {} generation {} is stale: the live allocation is generation {}",
                                            buffer_id, generation, it->second.generation));
    return it->second;
  }
  const auto freed = freed_.find(buffer_id);
  if (freed != freed_.end()) {
    if (freed->second != generation)
      refuse(WireStatus::STALE, fmt::format("buffer {} generation {} is stale: generation {} was allocated and freed",
                                            buffer_id, generation, freed->second));
    refuse(WireStatus::REJECTED, fmt::format("buffer {} generation {} was freed", buffer_id, generation));
  }
  refuse(WireStatus::NOT_FOUND, fmt::format("buffer {} generation {} is not allocated on this worker", buffer_id, generation));
}

BufferRegistry::OwnerEntry& BufferRegistry::live_owner(uint64_t buffer_id, uint64_t generation) {
  return const_cast<OwnerEntry&>(std::as_const(*this).live_owner(buffer_id, generation));
}

// ---- controls ----

wire::AllocResult BufferRegistry::alloc(const wire::AllocRequest& request) {
  if (request.nbytes == 0) refuse(WireStatus::REJECTED, "an allocation of 0 bytes");
  if (request.nbytes > static_cast<uint64_t>(std::numeric_limits<off_t>::max()))
    refuse(WireStatus::REJECTED, fmt::format("{} bytes exceed the largest shared-memory object", request.nbytes));
  if (next_buffer_id_ > MAX_SHM_COUNTER)
    refuse(WireStatus::REJECTED, "this session has used every buffer id its shared-memory names can express");
  const uint64_t buffer_id = next_buffer_id_;
  OwnerEntry entry;
  entry.generation = 1;
  try {
    entry.backing = HostBuffer::create_named(session_shm_name(config_.session_id, ShmKind::OWNER, buffer_id),
                                             request.nbytes, AccessMode::READWRITE);
  } catch (const HostBufferError& e) {
    refuse(WireStatus::REJECTED,
           fmt::format("cannot allocate {} bytes of shared memory: {}", request.nbytes, system_reason(e)));
  }
  if (config_.data_plane != nullptr) {
    try {  // ucx: registered for peers' RMA (buffers.md 9.3 "Allocations"); a failure unlinks the object
      entry.registration = config_.data_plane->register_memory(entry.backing.data(), entry.backing.size());
    } catch (const std::exception& e) {
      refuse(WireStatus::REJECTED, fmt::format("cannot register {} bytes for RMA: {}", request.nbytes, e.what()));
    }
  }
  owners_.emplace(buffer_id, std::move(entry));
  ++next_buffer_id_;  // only a successful allocation consumes an id
  spdlog::debug("session {:016x}: allocated buffer {} ({} bytes)", config_.session_id, buffer_id, request.nbytes);

  wire::AllocResult result;
  result.worker_id = config_.worker_id;
  result.buffer_id = buffer_id;
  result.generation = 1;
  result.address_space = wire::RemoteAddressSpace::REMOTE_DEVICE;
  result.nbytes = request.nbytes;
  // host_tcp: no data plane, so no address or key (and never a process pointer).
  result.remote_addr = 0;
  result.rkey_or_token = 0;
  result.ub_ldst_va = 0;
  return result;
}

void BufferRegistry::free(const wire::BufferRef& ref) {
  require_this_worker(ref.worker_id, "worker_id");
  const auto it = owners_.find(ref.buffer_id);
  // Unknown or already freed: nothing is left to free, which is success (protocol.md 8).
  if (it == owners_.end()) return;
  // A generation other than the live one is stale state and is never applied (buffers.md 2).
  if (it->second.generation != ref.generation)
    refuse(WireStatus::STALE, fmt::format("buffer {} generation {} is stale: the live allocation is generation {}",
                                          ref.buffer_id, ref.generation, it->second.generation));
  // Export registrations live in the entry and go with it; peers' imports keep their own mappings
  // (the parent defers the free until no import is live, buffers.md 6).
  freed_.emplace(ref.buffer_id, ref.generation);
  it->second.registration.reset();  // ucp_mem_unmap before the shared memory goes
  owners_.erase(it);
  spdlog::debug("session {:016x}: freed buffer {}", config_.session_id, ref.buffer_id);
}

void BufferRegistry::copy_to(const wire::CopyToView& request) {
  require_this_worker(request.worker_id, "worker_id");
  OwnerEntry& entry = live_owner(request.buffer_id, request.generation);
  if (request.data.size() != request.size)
    refuse(WireStatus::REJECTED,
           fmt::format("COPY_TO_REMOTE carries {} data bytes for a size of {}", request.data.size(), request.size));
  if (!range_inside(request.offset, request.size, entry.backing.size()))
    refuse(WireStatus::REJECTED, fmt::format("copy range {} lies outside buffer {} ({} bytes)",
                                             range_text(request.offset, request.size), request.buffer_id,
                                             entry.backing.size()));
  if (request.size > 0) std::memcpy(entry.backing.data() + request.offset, request.data.data(), request.size);
}

std::span<uint8_t> BufferRegistry::copy_to_destination(const wire::CopyToView& request) {
  require_this_worker(request.worker_id, "worker_id");
  OwnerEntry& entry = live_owner(request.buffer_id, request.generation);
  if (!range_inside(request.offset, request.size, entry.backing.size()))
    refuse(WireStatus::REJECTED, fmt::format("copy range {} lies outside buffer {} ({} bytes)",
                                             range_text(request.offset, request.size), request.buffer_id,
                                             entry.backing.size()));
  return std::span<uint8_t>(reinterpret_cast<uint8_t*>(entry.backing.data()) + request.offset, request.size);
}

void BufferRegistry::copy_to(const wire::CopyRequest& request) {
  copy_to(wire::CopyToView{request.worker_id, request.buffer_id, request.generation, request.offset, request.size,
                           request.data});
}

std::vector<uint8_t> BufferRegistry::copy_from(const wire::CopyRequest& request, uint64_t max_result_bytes) {
  const std::span<const uint8_t> view = copy_from_view(request, max_result_bytes);
  return std::vector<uint8_t>(view.begin(), view.end());
}

std::span<const uint8_t> BufferRegistry::copy_from_view(const wire::CopyRequest& request,
                                                        uint64_t max_result_bytes) const {
  require_this_worker(request.worker_id, "worker_id");
  const OwnerEntry& entry = live_owner(request.buffer_id, request.generation);
  if (!request.data.empty())
    refuse(WireStatus::REJECTED, fmt::format("COPY_FROM_REMOTE carries {} data bytes", request.data.size()));
  if (!range_inside(request.offset, request.size, entry.backing.size()))
    refuse(WireStatus::REJECTED, fmt::format("copy range {} lies outside buffer {} ({} bytes)",
                                             range_text(request.offset, request.size), request.buffer_id,
                                             entry.backing.size()));
  if (request.size > max_result_bytes)
    refuse(WireStatus::REJECTED, fmt::format("a COPY_FROM_REMOTE of {} bytes does not fit one reply (at most {})",
                                             request.size, max_result_bytes));
  const auto* first = reinterpret_cast<const uint8_t*>(entry.backing.data()) + request.offset;
  return std::span<const uint8_t>(first, request.size);
}

std::span<uint8_t> BufferRegistry::rma_copy_range(const wire::CopyRmaRequest& request) {
  // Version 1's checks exactly: the head of a COPY_TO_REMOTE v1 names the same fields.
  return copy_to_destination(
      wire::CopyToView{request.worker_id, request.buffer_id, request.generation, request.offset, request.size, {}});
}

wire::ExportBufferResult BufferRegistry::export_buffer(const wire::ExportBufferRequest& request) {
  require_this_worker(request.owner_worker_id, "owner_worker_id");
  OwnerEntry& entry = live_owner(request.buffer_id, request.generation);
  if (request.nbytes == 0) refuse(WireStatus::REJECTED, "an export of 0 bytes");
  if (!range_inside(request.offset, request.nbytes, entry.backing.size()))
    refuse(WireStatus::REJECTED, fmt::format("export range {} lies outside buffer {} ({} bytes)",
                                             range_text(request.offset, request.nbytes), request.buffer_id,
                                             entry.backing.size()));
  if (!wire::is_valid_access(request.access_flags))
    refuse(WireStatus::REJECTED, fmt::format("access flags {:#x} are not a non-empty subset of READ|WRITE",
                                             request.access_flags));
  if (!request.transport_profile.empty() && request.transport_profile != config_.transport_profile)
    refuse(WireStatus::UNSUPPORTED, fmt::format("transport profile '{}' is not this session's ('{}')",
                                                request.transport_profile, config_.transport_profile));

  const ExportRegistration* reg = nullptr;
  for (const auto& r : entry.exports)  // an identical request is served by its registration
    if (r.offset == request.offset && r.nbytes == request.nbytes && r.access_flags == request.access_flags &&
        r.requested_profile == request.transport_profile)
      reg = &r;
  if (!reg) {
    entry.exports.push_back(ExportRegistration{next_export_id_++, request.offset, request.nbytes,
                                               request.access_flags, request.transport_profile});
    reg = &entry.exports.back();
  }

  wire::ExportBufferResult result;
  result.owner_worker_id = config_.worker_id;
  result.buffer_id = request.buffer_id;
  result.generation = request.generation;
  result.address_space = wire::RemoteAddressSpace::REMOTE_WINDOW;
  result.offset = reg->offset;
  result.nbytes = reg->nbytes;
  result.export_id = reg->export_id;
  result.rkey_or_token = reg->export_id;
  result.ub_ldst_va = 0;
  result.access_flags = reg->access_flags;
  result.transport_profile = config_.transport_profile;
  if (entry.registration) {
    // ucx (9.3 "Export"): RMA needs the owner's address of the range start and the packed key.
    result.remote_addr = reinterpret_cast<uint64_t>(entry.backing.data()) + reg->offset;
    try {
      result.transport_descriptor = encode_ucx_export_descriptor(
          UcxExportDescriptor{config_.host_token, std::string(entry.backing.shm_name()), config_.data_plane->address(),
                              entry.registration->packed_rkey()});
    } catch (const wire::WireError& e) {
      refuse(WireStatus::REJECTED, fmt::format("the ucx export descriptor of buffer {} does not fit: {}",
                                               request.buffer_id, e.what()));
    }
  } else {
    result.remote_addr = 0;  // host_tcp: no runner address crosses the wire (buffers.md 9.2)
    result.transport_descriptor =
        encode_host_tcp_export_descriptor(HostTcpExportDescriptor{config_.host_token, entry.backing.shm_name()});
  }
  return result;
}

wire::ImportBufferResult BufferRegistry::import_buffer(const wire::ImportBufferRequest& request) {
  const wire::ExportBufferResult& ex = request.export_desc;
  require_this_worker(request.importer_worker_id, "importer_worker_id");
  if (ex.owner_worker_id == config_.worker_id)
    refuse(WireStatus::REJECTED, fmt::format("worker {} cannot import its own buffer {}", config_.worker_id, ex.buffer_id));
  if (ex.transport_profile != config_.transport_profile)
    refuse(WireStatus::UNSUPPORTED, fmt::format("an export of profile '{}' cannot be imported by a '{}' session",
                                                ex.transport_profile, config_.transport_profile));
  if (ex.address_space == wire::RemoteAddressSpace::UB_LDST)
    refuse(WireStatus::UNSUPPORTED, "UB_LDST imports need a hardware UB profile");
  if (ex.address_space != wire::RemoteAddressSpace::REMOTE_WINDOW)
    refuse(WireStatus::REJECTED, fmt::format("an export in {} cannot be imported", wire::to_string(ex.address_space)));
  if (ex.buffer_id == 0 || ex.generation == 0 || ex.export_id == 0 || ex.owner_worker_id < 0)
    refuse(WireStatus::REJECTED, "the export names no live identity");
  if (ex.nbytes == 0 || ex.offset > std::numeric_limits<uint64_t>::max() - ex.nbytes)
    refuse(WireStatus::REJECTED, fmt::format("export range {} is empty or overflows", range_text(ex.offset, ex.nbytes)));
  if (!wire::is_valid_access(request.requested_access_flags) ||
      (request.requested_access_flags & ~ex.access_flags) != 0)
    refuse(WireStatus::REJECTED, fmt::format("requested access {:#x} is not a non-empty subset of the export's {:#x}",
                                             request.requested_access_flags, ex.access_flags));
  const bool ucx = config_.data_plane != nullptr;
  const char* profile = ucx ? "ucx" : "host_tcp";
  HostToken token{};
  std::string shm_name;
  ImportEntry entry;
  try {
    if (ucx) {
      UcxExportDescriptor d = decode_ucx_export_descriptor(ex.transport_descriptor);
      token = d.host_token;
      shm_name = std::move(d.shm_name);
      entry.owner_worker_addr = std::move(d.owner_worker_addr);
      entry.packed_rkey = std::move(d.packed_rkey);
    } else {
      HostTcpExportDescriptor d = decode_host_tcp_export_descriptor(ex.transport_descriptor);
      token = d.host_token;
      shm_name = std::move(d.shm_name);
    }
  } catch (const wire::WireError& e) {
    refuse(WireStatus::REJECTED, fmt::format("the export's {} descriptor is malformed ({})", profile, wire::to_string(e.code())));
  }
  entry.key = ImportKey{ex.owner_worker_id, ex.buffer_id, ex.generation, next_import_id_};
  entry.offset = ex.offset;
  entry.nbytes = ex.nbytes;
  entry.access_flags = request.requested_access_flags;
  if (!same_host(token)) {
    if (!ucx) refuse(WireStatus::UNSUPPORTED, "host_tcp peer import needs owner and importer on the same host");
    // ucx, another host (9.3 "Import"): recorded for per-task RMA, nothing mapped. The owner must
    // be reachable and its key valid now: the data plane connects and unpacks it (and keeps both).
    if (ex.remote_addr == 0) refuse(WireStatus::REJECTED, "the ucx export carries no owner address");
    try {
      config_.data_plane->prepare_remote_key(entry.owner_worker_addr, entry.packed_rkey,
                                             transport::Clock::now() + kRmaTaskBound);
    } catch (const std::exception& e) {
      refuse(WireStatus::FAILED, fmt::format("the owner of buffer {} (worker {}) cannot be reached for RMA: {}",
                                             ex.buffer_id, ex.owner_worker_id, e.what()));
    }
    entry.rma = true;
    entry.remote_addr = ex.remote_addr;
    const uint64_t import_id = next_import_id_++;
    imports_.emplace(import_id, std::move(entry));
    spdlog::debug("session {:016x}: imported buffer {} of worker {} as RMA import {}", config_.session_id,
                  ex.buffer_id, ex.owner_worker_id, import_id);
    return import_result(request, import_id);
  }
  entry.owner_worker_addr.clear();
  entry.packed_rkey.clear();
  // Only an owner allocation of this naming scheme, for the exported buffer id, may be mapped:
  // a descriptor cannot point the importer at an arbitrary shared-memory object.
  const auto parsed = parse_session_shm_name(shm_name);
  if (!parsed || parsed->kind != ShmKind::OWNER || parsed->counter != ex.buffer_id)
    refuse(WireStatus::REJECTED, fmt::format("the export's {} descriptor does not name buffer {}", profile, ex.buffer_id));
  try {
    // Mapped from the object's first byte, so descriptor offsets (owner-relative) are view offsets.
    entry.mapping = HostBuffer::open_named(shm_name, ex.offset + ex.nbytes, access_mode(entry.access_flags));
  } catch (const HostBufferError& e) {
    if (e.sys_errno() == ENOENT)
      refuse(WireStatus::NOT_FOUND,
             fmt::format("buffer {} of worker {} no longer exists on this host", ex.buffer_id, ex.owner_worker_id));
    refuse(WireStatus::REJECTED, fmt::format("cannot map buffer {} of worker {}: {}", ex.buffer_id, ex.owner_worker_id,
                                             system_reason(e)));
  }
  const uint64_t import_id = next_import_id_++;
  imports_.emplace(import_id, std::move(entry));
  spdlog::debug("session {:016x}: imported buffer {} of worker {} as import {}", config_.session_id, ex.buffer_id,
                ex.owner_worker_id, import_id);
  return import_result(request, import_id);
}

wire::ImportBufferResult BufferRegistry::import_result(const wire::ImportBufferRequest& request,
                                                       uint64_t import_id) const {
  const wire::ExportBufferResult& ex = request.export_desc;
  wire::ImportBufferResult result;
  result.importer_worker_id = config_.worker_id;
  result.owner_worker_id = ex.owner_worker_id;
  result.buffer_id = ex.buffer_id;
  result.generation = ex.generation;
  result.import_id = import_id;
  result.address_space = wire::RemoteAddressSpace::REMOTE_WINDOW;
  result.offset = ex.offset;
  result.nbytes = ex.nbytes;
  result.remote_addr = 0;
  result.rkey_or_token = import_id;  // TASK descriptors carry the import id here (both profiles)
  result.ub_ldst_va = 0;
  result.access_flags = request.requested_access_flags;
  result.transport_profile = config_.transport_profile;
  return result;
}

void BufferRegistry::release_import(const wire::ReleaseImportRequest& request) {
  require_this_worker(request.importer_worker_id, "importer_worker_id");
  const ImportKey key{request.owner_worker_id, request.buffer_id, request.generation, request.import_id};
  auto mismatch = [&](const ImportKey& have, const char* state) {
    if (have.owner_worker_id == key.owner_worker_id && have.buffer_id == key.buffer_id)
      refuse(WireStatus::STALE, fmt::format("import {} of buffer {} is generation {}, not {} ({})", key.import_id,
                                            key.buffer_id, have.generation, key.generation, state));
    refuse(WireStatus::NOT_FOUND, fmt::format("import {} does not map buffer {} of worker {}", key.import_id,
                                              key.buffer_id, key.owner_worker_id));
  };
  if (const auto it = imports_.find(request.import_id); it != imports_.end()) {
    if (!(it->second.key == key)) mismatch(it->second.key, "live");
    released_imports_.emplace(request.import_id, key);
    release_remote_key(it->second);  // RMA import: ucp_rkey_destroy of the cached key
    imports_.erase(it);  // unmaps this importer's view only; the owner's object is untouched
    return;
  }
  if (const auto it = released_imports_.find(request.import_id); it != released_imports_.end()) {
    if (!(it->second == key)) mismatch(it->second, "released");
    return;  // a repeated release of the same mapping (protocol.md 8)
  }
  refuse(WireStatus::NOT_FOUND, fmt::format("import {} is not known to this worker", request.import_id));
}

// ---- TASK arguments ----

BufferDescriptor BufferRegistry::resolve_owner(const wire::RemoteTensorDescWire& desc) const {
  if (desc.owner_worker_id != config_.worker_id)
    refuse(WireStatus::REJECTED, fmt::format("REMOTE_DEVICE buffer {} is owned by worker {}, not this runner (worker "
                                             "{}); another worker's buffer must be imported",
                                             desc.buffer_id, desc.owner_worker_id, config_.worker_id));
  const OwnerEntry& entry = live_owner(desc.buffer_id, desc.generation);
  if (!range_inside(desc.offset, desc.nbytes, entry.backing.size()))
    refuse(WireStatus::REJECTED, fmt::format("range {} lies outside buffer {} ({} bytes)",
                                             range_text(desc.offset, desc.nbytes), desc.buffer_id,
                                             entry.backing.size()));
  return entry.backing.descriptor();  // READWRITE, POSIX_SHM, the whole object
}

const BufferRegistry::ImportEntry& BufferRegistry::live_import(int32_t owner, uint64_t buffer_id, uint64_t generation,
                                                               uint64_t import_id) const {
  if (const auto it = imports_.find(import_id); it != imports_.end()) {
    const ImportKey& k = it->second.key;
    if (k.owner_worker_id != owner || k.buffer_id != buffer_id)
      refuse(WireStatus::NOT_FOUND,
             fmt::format("import {} does not map buffer {} of worker {}", import_id, buffer_id, owner));
    if (k.generation != generation)
      refuse(WireStatus::STALE, fmt::format("import {} of buffer {} is generation {}, the descriptor says {}", import_id,
                                            buffer_id, k.generation, generation));
    return it->second;
  }
  if (const auto it = released_imports_.find(import_id);
      it != released_imports_.end() && it->second.owner_worker_id == owner && it->second.buffer_id == buffer_id)
    refuse(WireStatus::REJECTED, fmt::format("import {} of buffer {} was released", import_id, buffer_id));
  for (const auto& [id, e] : imports_)
    if (e.key.owner_worker_id == owner && e.key.buffer_id == buffer_id)
      refuse(WireStatus::STALE, fmt::format("buffer {} of worker {} is imported here as import {}, not {}", buffer_id,
                                            owner, id, import_id));
  refuse(WireStatus::NOT_FOUND,
         fmt::format("no import of buffer {} of worker {} exists on this worker", buffer_id, owner));
}

const BufferRegistry::ImportEntry& BufferRegistry::checked_import(const wire::RemoteTensorDescWire& desc) const {
  // The importer-local import id travels in rkey_or_token (protocol.md 6.4).
  const ImportEntry& entry = live_import(desc.owner_worker_id, desc.buffer_id, desc.generation, desc.rkey_or_token);
  if (desc.offset < entry.offset || !range_inside(desc.offset - entry.offset, desc.nbytes, entry.nbytes))
    refuse(WireStatus::REJECTED, fmt::format("range {} lies outside the imported range {} of buffer {}",
                                             range_text(desc.offset, desc.nbytes), range_text(entry.offset, entry.nbytes),
                                             desc.buffer_id));
  return entry;
}

BufferDescriptor BufferRegistry::resolve_import(const wire::RemoteTensorDescWire& desc) const {
  const ImportEntry& entry = checked_import(desc);
  if (entry.rma)
    refuse(WireStatus::REJECTED, fmt::format("import {} of buffer {} is reached by RMA and has no local mapping",
                                             entry.key.import_id, desc.buffer_id));
  return entry.mapping.descriptor();  // grant = the import's access
}

std::optional<BufferRegistry::RmaImport> BufferRegistry::rma_import(const wire::RemoteTensorDescWire& desc) const {
  const ImportEntry& entry = checked_import(desc);
  if (!entry.rma) return std::nullopt;
  return RmaImport{entry.key.import_id, entry.key.owner_worker_id, entry.key.buffer_id, entry.access_flags};
}

const BufferRegistry::ImportEntry& BufferRegistry::rma_entry(uint64_t import_id, uint64_t offset, uint64_t bytes) const {
  const auto it = imports_.find(import_id);
  if (it == imports_.end() || !it->second.rma || config_.data_plane == nullptr)
    throw Error(fmt::format("import {} is not a live RMA import", import_id));
  const ImportEntry& e = it->second;
  if (offset < e.offset || !range_inside(offset - e.offset, bytes, e.nbytes))
    throw Error(fmt::format("range {} lies outside the imported range {} of import {}", range_text(offset, bytes),
                            range_text(e.offset, e.nbytes), import_id));
  return e;
}

void BufferRegistry::rma_get(uint64_t import_id, uint64_t offset, std::span<uint8_t> local) {
  const ImportEntry& e = rma_entry(import_id, offset, local.size());
  const transport::RemoteRange range{e.owner_worker_addr, e.remote_addr + (offset - e.offset), e.packed_rkey,
                                     /*owner_serves=*/true};
  try {
    config_.data_plane->get(range, local.data(), local.size(), transport::Clock::now() + kRmaTaskBound);
  } catch (const std::exception& ex) {
    throw Error(fmt::format("copying in {} bytes of import {} (buffer {} of worker {}) failed: {}", local.size(),
                            import_id, e.key.buffer_id, e.key.owner_worker_id, ex.what()));
  }
}

void BufferRegistry::rma_put_runs(uint64_t import_id, uint64_t offset, const uint8_t* local_base,
                                  std::span<const transport::ByteRun> runs) {
  uint64_t end = 0;
  for (const auto& r : runs) end = std::max<uint64_t>(end, r.offset + r.length);
  const ImportEntry& e = rma_entry(import_id, offset, end);
  const transport::RemoteRange range{e.owner_worker_addr, e.remote_addr + (offset - e.offset), e.packed_rkey,
                                     /*owner_serves=*/true};
  try {
    config_.data_plane->put_runs(range, local_base, runs, transport::Clock::now() + kRmaTaskBound);
  } catch (const std::exception& ex) {
    throw Error(fmt::format("writing back {} changed runs of import {} (buffer {} of worker {}) failed: {}",
                            runs.size(), import_id, e.key.buffer_id, e.key.owner_worker_id, ex.what()));
  }
}

HostBuffer BufferRegistry::make_inline_buffer(uint64_t nbytes, AccessMode access) {
  if (next_inline_id_ > MAX_SHM_COUNTER)
    throw Error("this session has used every inline buffer id its shared-memory names can express");
  HostBuffer b = HostBuffer::create_named(session_shm_name(config_.session_id, ShmKind::INLINE, next_inline_id_),
                                          nbytes, access);
  ++next_inline_id_;
  return b;
}

}  // namespace echelon::session
