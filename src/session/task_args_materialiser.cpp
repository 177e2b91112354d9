#include "session/task_args_materialiser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <tuple>

#include "session/buffer_refusal.h"
#include "transport/ucx_data_plane.h"

namespace echelon::session {

namespace {

// A HostBuffer cannot be empty; a zero-byte inline slice still gets a one-byte backing so the
// tensor is bound like every other argument.
HostBuffer copy_inline_slice(const wire::RemoteTaskArgsWire& wire_args, const wire::RemoteTensorDescWire& desc,
                             BufferRegistry& registry) {
  HostBuffer buffer = registry.make_inline_buffer(std::max<uint64_t>(desc.inline_payload_len, 1));
  if (desc.inline_payload_len > 0)
    std::memcpy(buffer.data(), wire_args.inline_payload.data() + desc.inline_payload_offset, desc.inline_payload_len);
  return buffer;
}

std::string describe(size_t index, const wire::RemoteTensorDescWire& desc) {
  return fmt::format("argument {} ({} buffer {} generation {} of worker {})", index, wire::to_string(desc.address_space),
                     desc.buffer_id, desc.generation, desc.owner_worker_id);
}

// The backing of a non-inline descriptor, after the registry's live-state rules.
BufferDescriptor resolve(size_t index, const wire::RemoteTensorDescWire& desc, const BufferRegistry& registry) {
  try {
    switch (desc.address_space) {
      case wire::RemoteAddressSpace::REMOTE_DEVICE: return registry.resolve_owner(desc);
      case wire::RemoteAddressSpace::REMOTE_WINDOW: return registry.resolve_import(desc);
      default:
        throw ArgumentRefused(wire::WireStatus::UNSUPPORTED,
                              fmt::format("argument {} is {}: no echelon profile supports it", index,
                                          wire::to_string(desc.address_space)));
    }
  } catch (const BufferRefusal& e) {
    throw ArgumentRefused(e.status(), fmt::format("{}: {}", describe(index, desc), e.what()));
  }
}

// The RMA import a REMOTE_WINDOW descriptor names, or nullopt (mapped here, or another space).
std::optional<BufferRegistry::RmaImport> rma_import_of(size_t index, const wire::RemoteTensorDescWire& desc,
                                                       const BufferRegistry& registry) {
  if (desc.address_space != wire::RemoteAddressSpace::REMOTE_WINDOW) return std::nullopt;
  try {
    return registry.rma_import(desc);
  } catch (const BufferRefusal& e) {
    throw ArgumentRefused(e.status(), fmt::format("{}: {}", describe(index, desc), e.what()));
  }
}

bool grants_write(uint32_t access_flags) { return (access_flags & wire::REMOTE_BUFFER_ACCESS_WRITE) != 0; }

AccessMode grant_of(uint32_t access_flags) {
  const bool r = access_flags & wire::REMOTE_BUFFER_ACCESS_READ, w = grants_write(access_flags);
  return r && w ? AccessMode::READWRITE : w ? AccessMode::WRITE : AccessMode::READ;
}

}  // namespace

MaterialisedArgs materialise_args(const wire::RemoteTaskArgsWire& wire_args, BufferRegistry& registry) {
  MaterialisedArgs out;
  std::vector<Tensor> tensors;
  tensors.reserve(wire_args.tensors.size());
  out.inline_buffers.reserve(wire_args.tensors.size());
  std::vector<std::tuple<size_t, uint64_t, uint64_t>> rma_args;  // (tensor index, import id, owner offset)
  for (size_t i = 0; i < wire_args.tensors.size(); ++i) {
    // The codec already refused these; the registry is what tasks trust, so check again here.
    if (i >= wire_args.remote_desc.size() || !wire_args.remote_desc[i])
      throw ArgumentRefused(wire::WireStatus::REJECTED, fmt::format("argument {} has no remote descriptor", i));
    const auto& desc = *wire_args.remote_desc[i];
    const Tensor& placeholder = wire_args.tensors[i];
    if (placeholder.buffer.nbytes != desc.nbytes)
      throw ArgumentRefused(wire::WireStatus::REJECTED,
                            fmt::format("argument {}: descriptor nbytes {} differs from the placeholder's {}", i,
                                        desc.nbytes, placeholder.buffer.nbytes));
    Tensor local = placeholder;  // keeps ndims, shapes, strides, dtype
    if (const auto rma = rma_import_of(i, desc, registry)) {
      // Bound below, once every argument on this import is known.
      auto stage = std::find_if(out.rma_stages.begin(), out.rma_stages.end(),
                                [&](const RmaStage& s) { return s.import.import_id == rma->import_id; });
      if (stage == out.rma_stages.end()) {
        out.rma_stages.push_back(RmaStage{*rma, desc.offset, desc.offset + desc.nbytes, {}, {}});
      } else {
        stage->lo = std::min(stage->lo, desc.offset);
        stage->hi = std::max(stage->hi, desc.offset + desc.nbytes);
      }
      rma_args.emplace_back(tensors.size(), rma->import_id, desc.offset);
    } else if (desc.address_space == wire::RemoteAddressSpace::HOST_INLINE) {
      out.inline_buffers.push_back(copy_inline_slice(wire_args, desc, registry));
      local.buffer = out.inline_buffers.back().descriptor();
      local.byte_offset = 0;
    } else {
      // The backing is the whole object mapped from its first byte, so the owner-relative
      // descriptor offset is the view's offset (6.5: desc.offset - base, base = 0 on host_tcp).
      local.buffer = resolve(i, desc, registry);
      local.byte_offset = desc.offset;
    }
    tensors.push_back(local);
  }
  for (RmaStage& stage : out.rma_stages) {
    const BufferRegistry::RmaImport& im = stage.import;
    // One byte at least, as for inline slices: a zero-byte argument still binds a backing.
    stage.staging = registry.make_inline_buffer(std::max<uint64_t>(stage.hi - stage.lo, 1), AccessMode::READWRITE);
    const std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(stage.staging.data()), stage.hi - stage.lo);
    try {
      if (!bytes.empty()) registry.rma_get(im.import_id, stage.lo, bytes);
    } catch (const std::exception& e) {
      throw ArgumentRefused(wire::WireStatus::FAILED, e.what());
    }
    if (grants_write(im.access_flags)) stage.snapshot.assign(bytes.begin(), bytes.end());
  }
  for (const auto& [index, import_id, offset] : rma_args) {
    const RmaStage& stage = *std::find_if(out.rma_stages.begin(), out.rma_stages.end(),
                                          [&](const RmaStage& s) { return s.import.import_id == import_id; });
    BufferDescriptor view = stage.staging.descriptor();
    view.access = grant_of(stage.import.access_flags);  // the import's grant, not the staging's
    tensors[index].buffer = view;
    tensors[index].byte_offset = offset - stage.lo;
  }
  out.args = TaskArgs::from_dispatched(std::move(tensors), wire_args.scalars);
  return out;
}

void write_back(MaterialisedArgs& materialised, BufferRegistry& registry) {
  for (RmaStage& stage : materialised.rma_stages) {
    if (!grants_write(stage.import.access_flags) || stage.snapshot.empty()) continue;
    const std::span<const uint8_t> current(reinterpret_cast<const uint8_t*>(stage.staging.data()), stage.snapshot.size());
    const std::vector<transport::ByteRun> runs = transport::changed_runs(stage.snapshot, current);
    if (runs.empty()) continue;  // a read-only use writes nothing back
    registry.rma_put_runs(stage.import.import_id, stage.lo, current.data(), runs);
  }
}

}  // namespace echelon::session
