// Numeric endpoint addresses: `A.B.C.D:PORT`, `[v6]:PORT`, or `localhost:PORT` (mapped to
// 127.0.0.1 without asking the resolver). Host names are refused on purpose: getaddrinfo cannot be
// bounded by a deadline or cancelled (buffers.md 9.2, lessons #1432).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace echelon::transport {

enum class AddressFamily { IPV4, IPV6 };

struct EndpointAddress {
  AddressFamily family = AddressFamily::IPV4;
  std::string host;   // canonical numeric text, without brackets ("127.0.0.1", "::1")
  uint16_t port = 0;  // 0 only makes sense for a listener (ephemeral port)

  bool is_loopback() const;
  // "127.0.0.1:5000" or "[::1]:5000": parseable again by parse_endpoint_address.
  std::string to_string() const;
  // Fills `out` for bind/connect; returns the length to pass alongside it.
  socklen_t to_sockaddr(sockaddr_storage& out) const;
  static EndpointAddress from_sockaddr(const sockaddr_storage& in);

  friend bool operator==(const EndpointAddress&, const EndpointAddress&) = default;
};

// Throws TransportError(INVALID_ADDRESS) with a message naming the part that is wrong (the whole
// text, the host, or the port). Port 0 is accepted here; connect() refuses it.
EndpointAddress parse_endpoint_address(std::string_view text);

}  // namespace echelon::transport
