// HostTcpExportDescriptor v1 (buffers.md 9.2): the transport_descriptor of a host_tcp export.
//   descriptor_version : u32 = 1
//   host_token         : uint8[16]
//   shm_name           : string(max = 255)
// Canonical encoding as for every wire layout (protocol.md 3); decode rejects a wrong version,
// an oversize or non-UTF-8 name and trailing bytes with a WireError naming the field.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>
#include "session/host_token.h"

namespace echelon::session {

inline constexpr uint32_t HOST_TCP_EXPORT_DESCRIPTOR_VERSION = 1;
inline constexpr size_t MAX_HOST_TCP_SHM_NAME_BYTES = 255;

struct HostTcpExportDescriptor {
  HostToken host_token{};
  std::string shm_name;  // the owner allocation's POSIX name, with its leading '/'
};

std::vector<uint8_t> encode_host_tcp_export_descriptor(const HostTcpExportDescriptor& d);
HostTcpExportDescriptor decode_host_tcp_export_descriptor(std::span<const uint8_t> bytes);

}  // namespace echelon::session
