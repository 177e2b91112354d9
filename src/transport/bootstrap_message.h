// The bootstrap framing of protocol.md 1.1: a u32 little-endian byte length, then that many bytes
// (JSON, or an authentication envelope of 15.3). One request and one reply per connection, so
// these are blocking calls with a deadline rather than a resumable stream.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "transport/deadline.h"
#include "transport/tcp_socket.h"
#include "wire/limits.h"

namespace echelon::transport {

void write_bootstrap_message(TcpSocket& socket, std::span<const uint8_t> message, Deadline deadline);
// Checks the length prefix against `max_bytes` before allocating (WIRE-1): MESSAGE_TOO_LARGE.
std::vector<uint8_t> read_bootstrap_message(TcpSocket& socket, Deadline deadline,
                                            uint32_t max_bytes = wire::MAX_BOOTSTRAP_MESSAGE_BYTES);

}  // namespace echelon::transport
