#include "transport/ucx/memory.h"

#include <fmt/format.h>

#include "transport/ucx/status.h"

namespace echelon::transport::ucx {

UcpRegistration::UcpRegistration(std::shared_ptr<UcpContext> context, void* base, size_t bytes)
    : context_(std::move(context)), base_(base), bytes_(bytes) {
  if (base == nullptr || bytes == 0) {
    throw TransportError(TransportErrc::IO_ERROR, "ucp_mem_map: an empty range cannot be registered");
  }
  ucp_mem_map_params_t params{};
  params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  params.address = base;
  params.length = bytes;
  ucs_status_t status = ucp_mem_map(context_->handle(), &params, &memh_);
  if (status != UCS_OK) throw_status(fmt::format("ucp_mem_map of {} bytes", bytes), status);

  void* packed = nullptr;
  size_t packed_size = 0;
  status = ucp_rkey_pack(context_->handle(), memh_, &packed, &packed_size);
  if (status != UCS_OK) {
    ucp_mem_unmap(context_->handle(), memh_);
    throw_status("ucp_rkey_pack", status);
  }
  const auto* p = static_cast<const uint8_t*>(packed);
  packed_.assign(p, p + packed_size);
  ucp_rkey_buffer_release(packed);
}

UcpRegistration::~UcpRegistration() { ucp_mem_unmap(context_->handle(), memh_); }

}  // namespace echelon::transport::ucx
