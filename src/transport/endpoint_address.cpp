#include "transport/endpoint_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "transport/transport_error.h"

namespace echelon::transport {
namespace {

[[noreturn]] void invalid(std::string_view text, const std::string& why) {
  throw TransportError(TransportErrc::INVALID_ADDRESS, "endpoint address '" + std::string(text) + "': " + why);
}

uint16_t parse_port(std::string_view text, std::string_view port) {
  if (port.empty()) invalid(text, "port is missing after ':'");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  // from_chars accepts no sign or space, so only digits get through.
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535)
    invalid(text, "port '" + std::string(port) + "' is not a number in 0..65535");
  return static_cast<uint16_t>(value);
}

// Re-renders the parsed address so that equal addresses compare equal as text.
std::string canonical(int af, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(af, addr, buf, sizeof buf);
  return buf;
}

}  // namespace

EndpointAddress parse_endpoint_address(std::string_view text) {
  if (text.empty()) invalid(text, "empty; expected IP:PORT");
  EndpointAddress out;
  std::string_view host, port;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) invalid(text, "IPv6 host has no closing ']'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') invalid(text, "port is missing; expected [IPv6]:PORT");
    port = text.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1)
      invalid(text, "host '" + std::string(host) + "' is not a numeric IPv6 address");
    out.family = AddressFamily::IPV6;
    out.host = canonical(AF_INET6, &a6);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) invalid(text, "port is missing; expected IP:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) invalid(text, "an IPv6 host must be written in brackets: [v6]:PORT");
    if (host.empty()) invalid(text, "host is missing before ':'");
    const std::string host_str = host == "localhost" ? "127.0.0.1" : std::string(host);
    in_addr a4{};
    if (inet_pton(AF_INET, host_str.c_str(), &a4) != 1)
      invalid(text, "host '" + std::string(host) +
                        "' is not a numeric IPv4 address (names other than 'localhost' are not resolved)");
    out.family = AddressFamily::IPV4;
    out.host = canonical(AF_INET, &a4);
  }
  out.port = parse_port(text, port);
  return out;
}

bool EndpointAddress::is_loopback() const {
  sockaddr_storage ss{};
  to_sockaddr(ss);
  if (family == AddressFamily::IPV4) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
  }
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

std::string EndpointAddress::to_string() const {
  const std::string p = std::to_string(port);
  return family == AddressFamily::IPV6 ? "[" + host + "]:" + p : host + ":" + p;
}

socklen_t EndpointAddress::to_sockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof out);
  if (family == AddressFamily::IPV4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) invalid(host, "host is not a numeric IPv4 address");
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) invalid(host, "host is not a numeric IPv6 address");
  return sizeof(sockaddr_in6);
}

EndpointAddress EndpointAddress::from_sockaddr(const sockaddr_storage& in) {
  EndpointAddress out;
  if (in.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&in);
    out.family = AddressFamily::IPV6;
    out.host = canonical(AF_INET6, &sin6->sin6_addr);
    out.port = ntohs(sin6->sin6_port);
  } else {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&in);
    out.family = AddressFamily::IPV4;
    out.host = canonical(AF_INET, &sin->sin_addr);
    out.port = ntohs(sin->sin_port);
  }
  return out;
}

}  // namespace echelon::transport
