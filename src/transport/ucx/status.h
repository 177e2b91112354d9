// UCX status codes as echelon transport errors: one place decides which statuses mean "the peer
// is gone" so every wrapper reports them alike.
#pragma once

#include <ucs/type/status.h>

#include <string>

#include "transport/transport_error.h"

namespace echelon::transport::ucx {

TransportErrc errc_for(ucs_status_t status) noexcept;

// Throws TransportError(errc_for(status)) "<what>: <UCX's status text>".
[[noreturn]] void throw_status(const std::string& what, ucs_status_t status);

}  // namespace echelon::transport::ucx
