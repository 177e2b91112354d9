#include "endpoint/remote_buffer_controls.h"

#include <cstring>
#include <string>
#include <vector>

#include "echelon/errors.h"
#include "fmt/format.h"
#include "wire/buffer_controls.h"
#include "wire/control.h"
#include "wire/limits.h"
#include "wire/wire_error.h"

namespace echelon::remote_controls {
namespace {

using wire::ControlName;

// CONTROL envelope (name, version, command_len) plus the CopyRequestWire head (protocol.md 8, 9.2).
constexpr uint64_t kControlEnvelopeBytes = 4 + 4 + 4;
constexpr uint64_t kCopyHeadBytes = 36;

// Placeholders carry a 32-bit generation (protocol.md 6.3): a larger one could never name the
// allocation in a TASK, so the parent refuses it where it first sees it.
constexpr uint64_t kMaxGeneration = UINT32_MAX;

const char* name_of(ControlName n) { return wire::to_string(n); }

// Builders encode through the wire codec, which validates every field; a refusal names the control.
template <typename Encode>
ControlRequest build(ControlName name, Encode&& encode) {
  try {
    return ControlRequest{name_of(name), encode()};
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("{} request: {}", name_of(name), e.what()));
  }
}

// A failed reply means the runner did not apply the control (protocol.md 8): its text is the error.
void require_ok(const ControlReply& reply, ControlName name) {
  if (!reply.ok)
    throw ControlError(fmt::format("{} failed{}: {}", name_of(name), reply.uncertain ? " (effect uncertain)" : "",
                                   reply.error));
}

void require_empty_result(const ControlReply& reply, ControlName name) {
  require_ok(reply, name);
  if (!reply.payload.empty())
    throw ControlError(fmt::format("{} reply: the result must be empty but carries {} bytes", name_of(name),
                                   reply.payload.size()));
}

int32_t wire_worker(WorkerId worker, ControlName name) {
  if (worker < 0) throw ControlError(fmt::format("{} request: worker id {} is not a remote worker", name_of(name), worker));
  return static_cast<int32_t>(worker);
}

// COPY_TO_REMOTE for one chunk, encoded whole or as its head only: both refuse the same chunks.
ControlRequest copy_to_request(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                               std::span<const std::byte> data,
                               std::vector<uint8_t> (*encode)(const wire::CopyToView&)) {
  constexpr ControlName kName = ControlName::COPY_TO_REMOTE;
  if (data.size() > max_copy_chunk_bytes())
    throw ControlError(fmt::format("{} request: {} bytes exceed one frame's chunk of {} bytes", name_of(kName),
                                   data.size(), max_copy_chunk_bytes()));
  const std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
  return build(kName, [&] { return encode({wire_worker(worker, kName), buffer_id, generation, offset, data.size(), bytes}); });
}

}  // namespace

uint64_t max_copy_chunk_bytes() { return wire::MAX_FRAME_PAYLOAD_BYTES - kControlEnvelopeBytes - kCopyHeadBytes; }

ControlRequest alloc(uint64_t nbytes) {
  return build(ControlName::ALLOC_REMOTE_BUFFER, [&] { return wire::encode_alloc_request({nbytes}); });
}

Allocation alloc_result(const ControlReply& reply, WorkerId worker, uint64_t nbytes) {
  constexpr ControlName kName = ControlName::ALLOC_REMOTE_BUFFER;
  require_ok(reply, kName);
  wire::AllocResult r;
  try {
    r = wire::decode_alloc_result(reply.payload);  // exact size, live identity, REMOTE_DEVICE
    wire::check_alloc_result(r, wire_worker(worker, kName), nbytes);
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("{} reply for {} bytes on worker {}: {}", name_of(kName), nbytes, worker, e.what()));
  }
  if (r.generation > kMaxGeneration)
    throw ControlError(fmt::format("{} reply: generation {} of buffer {} does not fit the 32-bit placeholder generation",
                                   name_of(kName), r.generation, r.buffer_id));
  if (r.ub_ldst_va != 0)
    throw ControlError(fmt::format("{} reply: buffer {} carries a UB load/store address, which no echelon profile "
                                   "negotiates",
                                   name_of(kName), r.buffer_id));
  return Allocation{r.buffer_id, r.generation, r.nbytes, r.remote_addr, r.rkey_or_token};
}

ControlRequest free_buffer(WorkerId worker, uint64_t buffer_id, uint64_t generation) {
  constexpr ControlName kName = ControlName::FREE_REMOTE_BUFFER;
  return build(kName, [&] { return wire::encode_buffer_ref({wire_worker(worker, kName), buffer_id, generation}); });
}

void free_result(const ControlReply& reply) { require_empty_result(reply, ControlName::FREE_REMOTE_BUFFER); }

ControlRequest copy_to(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                       std::span<const std::byte> data) {
  // The caller's bytes go straight into the command buffer: one pass over the chunk.
  return copy_to_request(worker, buffer_id, generation, offset, data, wire::encode_copy_to);
}

void copy_to_result(const ControlReply& reply) { require_empty_result(reply, ControlName::COPY_TO_REMOTE); }

ControlRequest copy_to_head(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                            std::span<const std::byte> data) {
  return copy_to_request(worker, buffer_id, generation, offset, data, wire::encode_copy_to_head);
}

ControlRequest copy_from(WorkerId worker, uint64_t buffer_id, uint64_t generation, uint64_t offset, uint64_t size) {
  constexpr ControlName kName = ControlName::COPY_FROM_REMOTE;
  // The reply carries the bytes inside one frame, next to the reply envelope.
  if (size > max_copy_chunk_bytes())
    throw ControlError(fmt::format("{} request: {} bytes exceed one frame's chunk of {} bytes", name_of(kName), size,
                                   max_copy_chunk_bytes()));
  return build(kName, [&] {
    return wire::encode_copy_request({wire_worker(worker, kName), buffer_id, generation, offset, size, {}},
                                     wire::CopyDirection::FROM_REMOTE);
  });
}

void copy_from_result(const ControlReply& reply, std::span<std::byte> dst) {
  constexpr ControlName kName = ControlName::COPY_FROM_REMOTE;
  require_ok(reply, kName);
  wire::CopyRequest request;
  request.size = dst.size();
  try {
    wire::check_copy_from_result(reply.payload, request);
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("{} reply: {}", name_of(kName), e.what()));
  }
  if (!dst.empty()) std::memcpy(dst.data(), reply.payload.data(), dst.size());
}

void copy_from_placed_result(const ControlReply& reply) {
  require_empty_result(reply, ControlName::COPY_FROM_REMOTE);
}

ControlRequest export_buffer(WorkerId owner, uint64_t buffer_id, uint64_t generation, uint64_t offset, uint64_t nbytes,
                             uint32_t access) {
  constexpr ControlName kName = ControlName::EXPORT_BUFFER;
  return build(kName, [&] {
    return wire::encode_export_request({wire_worker(owner, kName), buffer_id, generation, offset, nbytes, access, {}});
  });
}

ExportGrant export_result(const ControlReply& reply, WorkerId owner, uint64_t buffer_id, uint64_t generation,
                          uint64_t offset, uint64_t nbytes, uint32_t access) {
  constexpr ControlName kName = ControlName::EXPORT_BUFFER;
  require_ok(reply, kName);
  const wire::ExportBufferRequest request{wire_worker(owner, kName), buffer_id, generation, offset, nbytes, access, {}};
  wire::ExportBufferResult r;
  try {
    r = wire::decode_export_result(reply.payload);
    wire::check_export_result(r, request);
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("{} reply for buffer {} of worker {}: {}", name_of(kName), buffer_id, owner, e.what()));
  }
  auto bad = [&](const std::string& why) {
    throw ControlError(fmt::format("{} reply for buffer {} of worker {}: {}", name_of(kName), buffer_id, owner, why));
  };
  if (r.address_space != wire::RemoteAddressSpace::REMOTE_WINDOW)
    bad(fmt::format("address space {} is not REMOTE_WINDOW", wire::to_string(r.address_space)));
  if (r.export_id == 0) bad("export id 0 names no registration");
  if (r.access_flags != access) bad(fmt::format("granted access {:#x}, requested {:#x}", r.access_flags, access));
  if (r.ub_ldst_va != 0) bad("carries a UB load/store address, which no echelon profile negotiates");
  return ExportGrant{r.export_id, r.access_flags, wire::encode_export_result(r)};
}

namespace {

wire::ExportBufferResult decode_descriptor(std::span<const uint8_t> export_descriptor, ControlName name) {
  try {
    return wire::decode_export_result(export_descriptor);
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("{} request: the export descriptor does not decode: {}", name_of(name), e.what()));
  }
}

// What the host_tcp runner answers when the export's host token is not its own (buffers.md 9.2;
// src/session/buffer_registry.cpp). The reply carries no status code of its own, only the
// endpoint's "<control> answered <STATUS>: <runner text>".
bool refused_as_cross_host(const ControlReply& reply) {
  return !reply.ok && reply.error.find("UNSUPPORTED") != std::string::npos &&
         reply.error.find("needs owner and importer on the same host") != std::string::npos;
}

}  // namespace

ControlRequest import_buffer(WorkerId importer, uint32_t requested, std::span<const uint8_t> export_descriptor) {
  constexpr ControlName kName = ControlName::IMPORT_BUFFER;
  const wire::ExportBufferResult desc = decode_descriptor(export_descriptor, kName);
  return build(kName, [&] { return wire::encode_import_request({wire_worker(importer, kName), requested, desc}); });
}

ImportGrant import_result(const ControlReply& reply, WorkerId importer, uint32_t requested,
                          std::span<const uint8_t> export_descriptor) {
  constexpr ControlName kName = ControlName::IMPORT_BUFFER;
  const wire::ImportBufferRequest request{wire_worker(importer, kName), requested,
                                          decode_descriptor(export_descriptor, kName)};
  const wire::ExportBufferResult& ex = request.export_desc;
  if (refused_as_cross_host(reply))
    throw ControlError(fmt::format("{} failed: buffer {} of worker {} cannot be imported into worker {} on another "
                                   "host: host_tcp maps peer buffers only on one host; a cross-host import needs an "
                                   "RMA-capable profile (ucx) ({})",
                                   name_of(kName), ex.buffer_id, ex.owner_worker_id, importer, reply.error));
  require_ok(reply, kName);
  wire::ImportBufferResult r;
  try {
    r = wire::decode_import_result(reply.payload);
    wire::check_import_result(r, request);
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("{} reply for buffer {} of worker {} into worker {}: {}", name_of(kName),
                                   ex.buffer_id, ex.owner_worker_id, importer, e.what()));
  }
  auto bad = [&](const std::string& why) {
    throw ControlError(fmt::format("{} reply for buffer {} of worker {} into worker {}: {}", name_of(kName),
                                   ex.buffer_id, ex.owner_worker_id, importer, why));
  };
  if (r.address_space != wire::RemoteAddressSpace::REMOTE_WINDOW)
    bad(fmt::format("address space {} is not REMOTE_WINDOW", wire::to_string(r.address_space)));
  if (r.import_id == 0) bad("import id 0 names no mapping");
  if (r.ub_ldst_va != 0) bad("carries a UB load/store address, which no echelon profile negotiates");
  return ImportGrant{r.import_id, r.remote_addr, r.rkey_or_token};
}

std::optional<uint64_t> import_id_of(const ControlReply& reply) {
  if (!reply.ok) return std::nullopt;
  try {
    const uint64_t id = wire::decode_import_result(reply.payload).import_id;
    if (id != 0) return id;
  } catch (const wire::WireError&) {
  }
  return std::nullopt;
}

ControlRequest release_import(WorkerId importer, WorkerId owner, uint64_t buffer_id, uint64_t generation,
                              uint64_t import_id) {
  constexpr ControlName kName = ControlName::RELEASE_IMPORT;
  return build(kName, [&] {
    return wire::encode_release_import(
        {wire_worker(importer, kName), wire_worker(owner, kName), buffer_id, generation, import_id});
  });
}

void release_import_result(const ControlReply& reply) { require_empty_result(reply, ControlName::RELEASE_IMPORT); }

}  // namespace echelon::remote_controls
