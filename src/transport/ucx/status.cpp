#include "transport/ucx/status.h"

namespace echelon::transport::ucx {

TransportErrc errc_for(ucs_status_t status) noexcept {
  switch (status) {
    case UCS_ERR_CONNECTION_RESET:
    case UCS_ERR_ENDPOINT_TIMEOUT:
    case UCS_ERR_UNREACHABLE:
    case UCS_ERR_REJECTED:
      return TransportErrc::PEER_CLOSED;
    case UCS_ERR_TIMED_OUT:
      return TransportErrc::TIMEOUT;
    case UCS_ERR_CANCELED:
      return TransportErrc::CLOSED;
    case UCS_ERR_INVALID_ADDR:
      return TransportErrc::INVALID_ADDRESS;
    default:
      return TransportErrc::IO_ERROR;
  }
}

void throw_status(const std::string& what, ucs_status_t status) {
  throw TransportError(errc_for(status), what + ": " + ucs_status_string(status));
}

}  // namespace echelon::transport::ucx
