// The one exception type of the transport layer. The code says what kind of failure it was, so an
// endpoint can turn it into the right endpoint-failure text ("socket closed", "timed out", ...);
// the message says where (which peer, which operation).
#pragma once

#include <string>

#include "echelon/errors.h"

namespace echelon::transport {

enum class TransportErrc {
  INVALID_ADDRESS,   // an endpoint address failed to parse (names the part)
  CONNECT_FAILED,    // refused, unreachable, or any other connect error
  TIMEOUT,           // a deadline passed before the operation completed
  PEER_CLOSED,       // orderly EOF, reset, or broken pipe
  MALFORMED_FRAME,   // the peer sent bytes the wire codec rejects
  MESSAGE_TOO_LARGE, // a bootstrap length prefix above its bound
  IO_ERROR,          // any other system call failure
  CLOSED,            // used after close() or after an earlier failure
};

const char* to_string(TransportErrc code);

class TransportError : public Error {
 public:
  TransportError(TransportErrc code, const std::string& message);
  TransportErrc code() const noexcept { return code_; }

 private:
  TransportErrc code_;
};

// Throws TransportError(IO_ERROR or PEER_CLOSED, by errno) "<what>: <strerror>".
[[noreturn]] void throw_errno(const std::string& what, int err);

}  // namespace echelon::transport
