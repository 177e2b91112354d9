#include "session/host_tcp_export_descriptor.h"

#include <fmt/format.h>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/wire_error.h"

namespace echelon::session {

std::vector<uint8_t> encode_host_tcp_export_descriptor(const HostTcpExportDescriptor& d) {
  wire::ByteWriter out;
  out.u32(HOST_TCP_EXPORT_DESCRIPTOR_VERSION);
  out.fixed(d.host_token);
  out.text("HostTcpExportDescriptor.shm_name", d.shm_name, MAX_HOST_TCP_SHM_NAME_BYTES);
  return out.take();
}

HostTcpExportDescriptor decode_host_tcp_export_descriptor(std::span<const uint8_t> bytes) {
  wire::ByteReader in(bytes, "HostTcpExportDescriptor");
  const uint32_t version = in.u32("HostTcpExportDescriptor.descriptor_version");
  if (version != HOST_TCP_EXPORT_DESCRIPTOR_VERSION)
    wire::fail(wire::WireErrc::INVALID_VALUE, "HostTcpExportDescriptor.descriptor_version",
               fmt::format("version {} is not {}", version, HOST_TCP_EXPORT_DESCRIPTOR_VERSION));
  HostTcpExportDescriptor d;
  in.fixed("HostTcpExportDescriptor.host_token", d.host_token);
  d.shm_name = std::string(in.text("HostTcpExportDescriptor.shm_name", MAX_HOST_TCP_SHM_NAME_BYTES));
  in.expect_end();
  return d;
}

}  // namespace echelon::session
