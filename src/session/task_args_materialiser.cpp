#include "session/inline_args.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace echelon::session {

namespace {

// A HostBuffer cannot be empty; a zero-byte inline slice still gets a one-byte backing so the
// tensor is bound like every other argument.
HostBuffer copy_inline_slice(const wire::RemoteTaskArgsWire& wire_args, const wire::RemoteTensorDescWire& desc) {
  HostBuffer buffer(std::max<uint64_t>(desc.inline_payload_len, 1), AccessMode::READ);
  if (desc.inline_payload_len > 0)
    std::memcpy(buffer.data(), wire_args.inline_payload.data() + desc.inline_payload_offset, desc.inline_payload_len);
  return buffer;
}

}  // namespace

MaterialisedArgs materialise_args(const wire::RemoteTaskArgsWire& wire_args) {
  MaterialisedArgs out;
  std::vector<Tensor> tensors;
  tensors.reserve(wire_args.tensors.size());
  out.buffers.reserve(wire_args.tensors.size());
  for (size_t i = 0; i < wire_args.tensors.size(); ++i) {
    // The codec already refused a tensor without its sidecar; check again rather than trust it.
    const auto& desc = wire_args.remote_desc.at(i);
    if (!desc) throw UnsupportedArgument(fmt::format("argument {} has no remote descriptor", i));
    if (desc->address_space != wire::RemoteAddressSpace::HOST_INLINE)
      throw UnsupportedArgument(fmt::format("argument {} is {}: remote buffers are not supported by this session yet", i,
                                            wire::to_string(desc->address_space)));
    out.buffers.push_back(copy_inline_slice(wire_args, *desc));
    Tensor local = wire_args.tensors[i];  // keeps ndims, shapes, strides, dtype
    local.buffer = out.buffers.back().descriptor();
    local.byte_offset = 0;
    tensors.push_back(local);
  }
  out.args = TaskArgs::from_dispatched(std::move(tensors), wire_args.scalars);
  return out;
}

}  // namespace echelon::session
