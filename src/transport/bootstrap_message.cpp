#include "transport/bootstrap_message.h"

#include <array>

#include "transport/transport_error.h"
#include "wire/le_bytes.h"

namespace echelon::transport {

void write_bootstrap_message(TcpSocket& socket, std::span<const uint8_t> message, Deadline deadline) {
  if (message.size() > wire::MAX_BOOTSTRAP_MESSAGE_BYTES)
    throw TransportError(TransportErrc::MESSAGE_TOO_LARGE, "bootstrap message of " + std::to_string(message.size()) +
                                                               " bytes exceeds the 16 MiB bound");
  std::array<uint8_t, 4> prefix{};
  wire::store_le(prefix.data(), static_cast<uint32_t>(message.size()));
  socket.write_all(prefix, deadline);
  socket.write_all(message, deadline);
}

std::vector<uint8_t> read_bootstrap_message(TcpSocket& socket, Deadline deadline, uint32_t max_bytes) {
  std::array<uint8_t, 4> prefix{};
  socket.read_exact(prefix, deadline);
  const uint32_t len = wire::load_le<uint32_t>(prefix.data());
  if (len > max_bytes)
    throw TransportError(TransportErrc::MESSAGE_TOO_LARGE, "bootstrap length prefix " + std::to_string(len) +
                                                               " exceeds the bound of " + std::to_string(max_bytes));
  std::vector<uint8_t> message(len);
  socket.read_exact(message, deadline);
  return message;
}

}  // namespace echelon::transport
