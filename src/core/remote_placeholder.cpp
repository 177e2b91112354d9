#include "core/remote_placeholder.h"

namespace echelon {

std::array<uint8_t, OWNER_INSTANCE_ID_BYTES> remote_owner_nonce(int32_t worker_id) {
  std::array<uint8_t, OWNER_INSTANCE_ID_BYTES> nonce{};
  const uint64_t v = static_cast<uint64_t>(static_cast<int64_t>(worker_id));
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(v >> (8 * i));
  return nonce;
}

BufferDescriptor remote_placeholder_backing(const RemotePlaceholderIdentity& id) {
  BufferDescriptor b;
  b.magic = BufferDescriptor::MAGIC;
  b.address_space = id.device_space ? AddressSpace::DEVICE : AddressSpace::HOST;
  b.access = AccessMode::READWRITE;
  b.backend_kind = BackendKind::REMOTE_SIDECAR;
  if (!id.inline_arg) b.identity.owner_instance_id = remote_owner_nonce(id.owner_worker_id);
  b.identity.buffer_id = id.inline_arg ? 0 : id.buffer_id;
  b.identity.generation = id.inline_arg ? REMOTE_INLINE_GENERATION : static_cast<uint32_t>(id.generation);
  b.nbytes = id.nbytes;
  b.owner_worker_path_id = id.inline_arg ? 0 : static_cast<uint32_t>(id.owner_worker_id);
  return b;
}

}  // namespace echelon
