#include "wire/remote_desc.h"

#include "fmt/format.h"
#include "wire/enum_field.h"
#include "wire/field_rules.h"
#include "wire/wire_error.h"

namespace echelon::wire {

const char* to_string(RemoteAddressSpace s) {
  switch (s) {
    case RemoteAddressSpace::HOST_INLINE: return "HOST_INLINE";
    case RemoteAddressSpace::REMOTE_DEVICE: return "REMOTE_DEVICE";
    case RemoteAddressSpace::REMOTE_WINDOW: return "REMOTE_WINDOW";
    case RemoteAddressSpace::UB_LDST: return "UB_LDST";
  }
  return "UNKNOWN";
}

void validate_remote_desc(const RemoteTensorDescWire& d, uint64_t arena_len) {
  require_known(d.address_space, "RemoteTensorDescWire.address_space");
  if (d.flags != 0)
    fail(WireErrc::RESERVED_NONZERO, "RemoteTensorDescWire.flags", fmt::format("flags {:#x} are reserved", d.flags));
  require_no_overflow(d.offset, d.nbytes, "RemoteTensorDescWire.nbytes");
  if (d.address_space == RemoteAddressSpace::HOST_INLINE) {
    constexpr const char* why = "for HOST_INLINE (it names no allocation)";
    require_zero(static_cast<uint64_t>(static_cast<uint32_t>(d.owner_worker_id)), "RemoteTensorDescWire.owner_worker_id", why);
    require_zero(d.buffer_id, "RemoteTensorDescWire.buffer_id", why);
    require_zero(d.remote_addr, "RemoteTensorDescWire.remote_addr", why);
    require_zero(d.rkey_or_token, "RemoteTensorDescWire.rkey_or_token", why);
    require_zero(d.generation, "RemoteTensorDescWire.generation", why);
    if (d.inline_payload_len != d.nbytes)
      fail(WireErrc::INVALID_VALUE, "RemoteTensorDescWire.inline_payload_len",
           fmt::format("inline length {} differs from nbytes {}", d.inline_payload_len, d.nbytes));
    if (d.inline_payload_offset > arena_len || d.inline_payload_len > arena_len - d.inline_payload_offset)
      fail(WireErrc::OUT_OF_RANGE, "RemoteTensorDescWire.inline_payload_offset",
           fmt::format("inline range [{}, +{}) lies outside the {}-byte arena", d.inline_payload_offset,
                       d.inline_payload_len, arena_len));
    return;
  }
  constexpr const char* why = "outside HOST_INLINE (inline fields are for the arena only)";
  require_zero(d.inline_payload_offset, "RemoteTensorDescWire.inline_payload_offset", why);
  require_zero(d.inline_payload_len, "RemoteTensorDescWire.inline_payload_len", why);
  require_non_negative(d.owner_worker_id, "RemoteTensorDescWire.owner_worker_id");
  require_nonzero(d.buffer_id, "RemoteTensorDescWire.buffer_id");
  require_nonzero(d.generation, "RemoteTensorDescWire.generation");
}

void write_remote_desc(ByteWriter& w, const RemoteTensorDescWire& d) {
  w.u32(static_cast<uint32_t>(d.address_space));
  w.i32(d.owner_worker_id);
  w.u64(d.buffer_id);
  w.u64(d.offset);
  w.u64(d.nbytes);
  w.u64(d.remote_addr);
  w.u64(d.rkey_or_token);
  w.u64(d.generation);
  w.u64(d.inline_payload_offset);
  w.u64(d.inline_payload_len);
  w.u64(d.flags);
}

void read_remote_desc(ByteReader& r, RemoteTensorDescWire& d) {
  d.address_space = known_enum<RemoteAddressSpace>(r.u32("RemoteTensorDescWire.address_space"),
                                                   "RemoteTensorDescWire.address_space");
  d.owner_worker_id = r.i32("RemoteTensorDescWire.owner_worker_id");
  d.buffer_id = r.u64("RemoteTensorDescWire.buffer_id");
  d.offset = r.u64("RemoteTensorDescWire.offset");
  d.nbytes = r.u64("RemoteTensorDescWire.nbytes");
  d.remote_addr = r.u64("RemoteTensorDescWire.remote_addr");
  d.rkey_or_token = r.u64("RemoteTensorDescWire.rkey_or_token");
  d.generation = r.u64("RemoteTensorDescWire.generation");
  d.inline_payload_offset = r.u64("RemoteTensorDescWire.inline_payload_offset");
  d.inline_payload_len = r.u64("RemoteTensorDescWire.inline_payload_len");
  d.flags = r.u64("RemoteTensorDescWire.flags");
}

}  // namespace echelon::wire
