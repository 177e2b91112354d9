#include "session/task_args_materialiser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "session/buffer_refusal.h"

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

}  // namespace

MaterialisedArgs materialise_args(const wire::RemoteTaskArgsWire& wire_args, BufferRegistry& registry) {
  MaterialisedArgs out;
  std::vector<Tensor> tensors;
  tensors.reserve(wire_args.tensors.size());
  out.inline_buffers.reserve(wire_args.tensors.size());
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
    if (desc.address_space == wire::RemoteAddressSpace::HOST_INLINE) {
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
  out.args = TaskArgs::from_dispatched(std::move(tensors), wire_args.scalars);
  return out;
}

}  // namespace echelon::session
