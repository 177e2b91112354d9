// The placeholder conventions of protocol.md 6.3, in one place: what a remote tensor argument's
// Tensor carries instead of a local backing. The parent builds placeholders with them
// (TaskArgs::add(RemoteTensorRef)), and the wire codec builds and checks them with the same code.
#pragma once

#include <array>
#include <cstdint>

#include "echelon/buffer.h"

namespace echelon {

// Generation of every HOST_INLINE placeholder: 0 is reserved.
inline constexpr uint32_t REMOTE_INLINE_GENERATION = 1;

// The owner's worker id as the 8-byte nonce of a remote placeholder: little-endian two's complement.
std::array<uint8_t, OWNER_INSTANCE_ID_BYTES> remote_owner_nonce(int32_t worker_id);

struct RemotePlaceholderIdentity {
  bool inline_arg = false;     // HOST_INLINE: no owner, buffer 0, REMOTE_INLINE_GENERATION
  bool device_space = false;   // REMOTE_DEVICE: DEVICE address space, HOST otherwise
  int32_t owner_worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t nbytes = 0;         // the view's byte size
};

// A bound REMOTE_SIDECAR descriptor, READWRITE, empty body.
BufferDescriptor remote_placeholder_backing(const RemotePlaceholderIdentity& id);

}  // namespace echelon
