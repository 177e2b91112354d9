// Numeric endpoint addresses only (buffers.md 9.2): the table of accepted and refused forms.
#include <string>

#include "transport/transport_error.h"
#include "transport_test_support.h"

namespace echelon::transport::test {
namespace {

struct Accepted {
  const char* text;
  AddressFamily family;
  const char* host;
  uint16_t port;
  const char* canonical;
};

TEST(EndpointAddress, AcceptsNumericForms) {
  const Accepted rows[] = {
      {"127.0.0.1:5000", AddressFamily::IPV4, "127.0.0.1", 5000, "127.0.0.1:5000"},
      {"localhost:80", AddressFamily::IPV4, "127.0.0.1", 80, "127.0.0.1:80"},
      {"0.0.0.0:0", AddressFamily::IPV4, "0.0.0.0", 0, "0.0.0.0:0"},
      {"10.1.2.3:65535", AddressFamily::IPV4, "10.1.2.3", 65535, "10.1.2.3:65535"},
      {"[::1]:7000", AddressFamily::IPV6, "::1", 7000, "[::1]:7000"},
      {"[fe80:0:0:0:0:0:0:1]:1", AddressFamily::IPV6, "fe80::1", 1, "[fe80::1]:1"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.text);
    const EndpointAddress a = parse_endpoint_address(row.text);
    EXPECT_EQ(a.family, row.family);
    EXPECT_EQ(a.host, row.host);
    EXPECT_EQ(a.port, row.port);
    EXPECT_EQ(a.to_string(), row.canonical);
    EXPECT_EQ(parse_endpoint_address(a.to_string()), a);
  }
}

struct Refused {
  const char* text;
  const char* names;  // the part of the message that says what is wrong
};

TEST(EndpointAddress, RefusesWithAMessageNamingThePart) {
  const Refused rows[] = {
      {"", "empty"},
      {"127.0.0.1", "port is missing"},
      {"127.0.0.1:", "port is missing"},
      {":5000", "host is missing"},
      {"example.com:80", "host 'example.com' is not a numeric IPv4 address"},
      {"256.1.1.1:80", "host '256.1.1.1'"},
      {"1.2.3:80", "host '1.2.3'"},
      {"127.0.0.1:65536", "port '65536' is not a number"},
      {"127.0.0.1:-1", "port '-1'"},
      {"127.0.0.1:80x", "port '80x'"},
      {"127.0.0.1: 80", "port ' 80'"},
      {"::1:80", "must be written in brackets"},
      {"[::1:80", "no closing ']'"},
      {"[::1]80", "expected [IPv6]:PORT"},
      {"[localhost]:80", "not a numeric IPv6 address"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.text);
    try {
      parse_endpoint_address(row.text);
      ADD_FAILURE() << "accepted";
    } catch (const TransportError& e) {
      EXPECT_EQ(e.code(), TransportErrc::INVALID_ADDRESS);
      EXPECT_NE(std::string(e.what()).find(row.names), std::string::npos) << e.what();
    }
  }
}

TEST(EndpointAddress, KnowsLoopback) {
  EXPECT_TRUE(parse_endpoint_address("127.0.0.1:1").is_loopback());
  EXPECT_TRUE(parse_endpoint_address("127.9.9.9:1").is_loopback());
  EXPECT_TRUE(parse_endpoint_address("localhost:1").is_loopback());
  EXPECT_TRUE(parse_endpoint_address("[::1]:1").is_loopback());
  EXPECT_FALSE(parse_endpoint_address("0.0.0.0:1").is_loopback());
  EXPECT_FALSE(parse_endpoint_address("10.0.0.1:1").is_loopback());
}

}  // namespace
}  // namespace echelon::transport::test
