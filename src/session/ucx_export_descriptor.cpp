#include "session/ucx_export_descriptor.h"

#include <fmt/format.h>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/limits.h"
#include "wire/wire_error.h"

namespace echelon::session {
namespace {

constexpr const char* kVersionField = "UcxExportDescriptor.descriptor_version";
constexpr const char* kShmNameField = "UcxExportDescriptor.shm_name";
constexpr const char* kWorkerAddrField = "UcxExportDescriptor.owner_worker_addr";
constexpr const char* kRkeyField = "UcxExportDescriptor.packed_rkey";

// version + token + three u32 lengths + the three maxima.
constexpr size_t kMaxEncodedBytes = 4 + 16 + 3 * 4 + MAX_UCX_SHM_NAME_BYTES + MAX_UCX_WORKER_ADDR_BYTES +
                                    MAX_UCX_PACKED_RKEY_BYTES;
static_assert(kMaxEncodedBytes <= wire::MAX_TRANSPORT_DESCRIPTOR_BYTES,
              "UcxExportDescriptor must fit the transport_descriptor maximum");

void require_non_empty(const char* field, size_t bytes) {
  if (bytes == 0) wire::fail(wire::WireErrc::INVALID_VALUE, field, "must not be empty");
}

}  // namespace

std::vector<uint8_t> encode_ucx_export_descriptor(const UcxExportDescriptor& d) {
  require_non_empty(kWorkerAddrField, d.owner_worker_addr.size());
  require_non_empty(kRkeyField, d.packed_rkey.size());
  wire::ByteWriter out;
  out.u32(UCX_EXPORT_DESCRIPTOR_VERSION);
  out.fixed(d.host_token);
  out.text(kShmNameField, d.shm_name, MAX_UCX_SHM_NAME_BYTES);
  out.blob(kWorkerAddrField, d.owner_worker_addr, MAX_UCX_WORKER_ADDR_BYTES);
  out.blob(kRkeyField, d.packed_rkey, MAX_UCX_PACKED_RKEY_BYTES);
  return out.take();
}

UcxExportDescriptor decode_ucx_export_descriptor(std::span<const uint8_t> bytes) {
  wire::ByteReader in(bytes, "UcxExportDescriptor");
  const uint32_t version = in.u32(kVersionField);
  if (version != UCX_EXPORT_DESCRIPTOR_VERSION)
    wire::fail(wire::WireErrc::INVALID_VALUE, kVersionField,
               fmt::format("version {} is not {}", version, UCX_EXPORT_DESCRIPTOR_VERSION));
  UcxExportDescriptor d;
  in.fixed("UcxExportDescriptor.host_token", d.host_token);
  d.shm_name = std::string(in.text(kShmNameField, MAX_UCX_SHM_NAME_BYTES));
  const auto address = in.blob(kWorkerAddrField, MAX_UCX_WORKER_ADDR_BYTES);
  require_non_empty(kWorkerAddrField, address.size());
  d.owner_worker_addr.assign(address.begin(), address.end());
  const auto rkey = in.blob(kRkeyField, MAX_UCX_PACKED_RKEY_BYTES);
  require_non_empty(kRkeyField, rkey.size());
  d.packed_rkey.assign(rkey.begin(), rkey.end());
  in.expect_end();
  return d;
}

}  // namespace echelon::session
