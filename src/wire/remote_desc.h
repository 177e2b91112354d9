// RemoteTensorDescWire (protocol.md 6.4): the per-argument sidecar that names where a remote
// argument's bytes live. Fixed 80 bytes.
#pragma once

#include <cstdint>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"

namespace echelon::wire {

enum class RemoteAddressSpace : uint32_t {
  HOST_INLINE = 1,
  REMOTE_DEVICE = 2,
  REMOTE_WINDOW = 3,
  UB_LDST = 4,
};
constexpr bool is_known(RemoteAddressSpace s) {
  return static_cast<uint32_t>(s) >= 1 && static_cast<uint32_t>(s) <= 4;
}
const char* to_string(RemoteAddressSpace s);

struct RemoteTensorDescWire {
  RemoteAddressSpace address_space = RemoteAddressSpace::HOST_INLINE;
  int32_t owner_worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t offset = 0;  // inside the owner allocation
  uint64_t nbytes = 0;
  uint64_t remote_addr = 0;
  uint64_t rkey_or_token = 0;
  uint64_t generation = 0;
  uint64_t inline_payload_offset = 0;
  uint64_t inline_payload_len = 0;
  uint64_t flags = 0;  // reserved

  friend bool operator==(const RemoteTensorDescWire&, const RemoteTensorDescWire&) = default;
};

// The structural rules of 6.4, checked on encode and decode. `arena_len` is the TASK's inline
// arena size (HOST_INLINE ranges must lie inside it).
void validate_remote_desc(const RemoteTensorDescWire& d, uint64_t arena_len);
// Field order as the spec lists it (generation after rkey_or_token). Neither function validates:
// the arena size is only known at the TASK level.
void write_remote_desc(ByteWriter& out, const RemoteTensorDescWire& d);
void read_remote_desc(ByteReader& in, RemoteTensorDescWire& out);

}  // namespace echelon::wire
