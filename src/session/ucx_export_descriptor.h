// UcxExportDescriptor v1 (buffers.md 9.3 "Export"): the transport_descriptor of a ucx export.
//   descriptor_version : u32 = 1
//   host_token         : uint8[16]           as HostTcpExportDescriptor (9.2)
//   shm_name           : string(max = 255)   the owner allocation's shared-memory name
//   owner_worker_addr  : bytes(max = 2048)   UCP address of the owner runner's data worker
//   packed_rkey        : bytes(max = 1024)   ucp_rkey_pack() of the registration
// Canonical encoding as for every wire layout (protocol.md 3). Encode refuses an oversize or
// empty field with a WireError naming it (an oversize address or key is a REJECTED export, never
// a truncated one); decode also rejects a wrong version, truncation and trailing bytes. All fields
// at their maxima stay within the 4096-byte transport_descriptor maximum.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>
#include "session/host_token.h"

namespace echelon::session {

inline constexpr uint32_t UCX_EXPORT_DESCRIPTOR_VERSION = 1;
inline constexpr size_t MAX_UCX_SHM_NAME_BYTES = 255;
inline constexpr size_t MAX_UCX_WORKER_ADDR_BYTES = 2048;
inline constexpr size_t MAX_UCX_PACKED_RKEY_BYTES = 1024;

struct UcxExportDescriptor {
  HostToken host_token{};
  std::string shm_name;                    // the owner allocation's POSIX name, with its leading '/'
  std::vector<uint8_t> owner_worker_addr;  // non-empty
  std::vector<uint8_t> packed_rkey;        // non-empty
  friend bool operator==(const UcxExportDescriptor&, const UcxExportDescriptor&) = default;
};

std::vector<uint8_t> encode_ucx_export_descriptor(const UcxExportDescriptor& d);
UcxExportDescriptor decode_ucx_export_descriptor(std::span<const uint8_t> bytes);

}  // namespace echelon::session
