#include "transport/transport_error.h"

#include <cerrno>
#include <cstring>

namespace echelon::transport {

const char* to_string(TransportErrc code) {
  switch (code) {
    case TransportErrc::INVALID_ADDRESS: return "invalid address";
    case TransportErrc::CONNECT_FAILED: return "connect failed";
    case TransportErrc::TIMEOUT: return "timed out";
    case TransportErrc::PEER_CLOSED: return "peer closed";
    case TransportErrc::MALFORMED_FRAME: return "malformed frame";
    case TransportErrc::MESSAGE_TOO_LARGE: return "message too large";
    case TransportErrc::IO_ERROR: return "I/O error";
    case TransportErrc::CLOSED: return "closed";
  }
  return "unknown transport error";
}

TransportError::TransportError(TransportErrc code, const std::string& message)
    : Error(std::string(to_string(code)) + ": " + message), code_(code) {}

void throw_errno(const std::string& what, int err) {
  const bool peer_gone = err == EPIPE || err == ECONNRESET || err == ENOTCONN;
  throw TransportError(peer_gone ? TransportErrc::PEER_CLOSED : TransportErrc::IO_ERROR,
                       what + ": " + std::strerror(err));
}

}  // namespace echelon::transport
