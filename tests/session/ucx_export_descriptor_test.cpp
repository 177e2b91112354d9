// UcxExportDescriptor v1 (buffers.md 9.3 "Export"): the exact layout, round trips at the field
// maxima, refusal of oversize or empty fields on encode (never truncation), and decode rejection
// of a wrong version, oversize lengths, truncation at every byte and trailing bytes.
#include <gtest/gtest.h>

#include "session/ucx_export_descriptor.h"
#include "wire/limits.h"
#include "wire/wire_error.h"

namespace echelon::session {
namespace {

using wire::WireErrc;
using wire::WireError;

UcxExportDescriptor sample(size_t name = 12, size_t addr = 200, size_t rkey = 60) {
  UcxExportDescriptor d;
  for (size_t i = 0; i < d.host_token.size(); ++i) d.host_token[i] = static_cast<uint8_t>(0xA0 + i);
  d.shm_name = "/" + std::string(name - 1, 'n');
  for (size_t i = 0; i < addr; ++i) d.owner_worker_addr.push_back(static_cast<uint8_t>(i * 7 + 1));
  for (size_t i = 0; i < rkey; ++i) d.packed_rkey.push_back(static_cast<uint8_t>(i * 13 + 5));
  return d;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Expects `fn` to throw a WireError with `code` naming `field`.
template <typename Fn>
void expect_wire_error(Fn&& fn, WireErrc code, const std::string& field) {
  try {
    fn();
    ADD_FAILURE() << "no WireError (" << wire::to_string(code) << " at " << field << ")";
  } catch (const WireError& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

TEST(UcxExportDescriptor, ExactLayout) {
  const UcxExportDescriptor d = sample(4, 3, 2);
  std::vector<uint8_t> expected;
  put_u32(expected, 1);
  expected.insert(expected.end(), d.host_token.begin(), d.host_token.end());
  put_u32(expected, 4);
  expected.insert(expected.end(), d.shm_name.begin(), d.shm_name.end());
  put_u32(expected, 3);
  expected.insert(expected.end(), d.owner_worker_addr.begin(), d.owner_worker_addr.end());
  put_u32(expected, 2);
  expected.insert(expected.end(), d.packed_rkey.begin(), d.packed_rkey.end());
  EXPECT_EQ(encode_ucx_export_descriptor(d), expected);
  EXPECT_EQ(decode_ucx_export_descriptor(expected), d);
}

TEST(UcxExportDescriptor, RoundTripsAtTheMaximaWithinTheDescriptorLimit) {
  const UcxExportDescriptor d =
      sample(MAX_UCX_SHM_NAME_BYTES, MAX_UCX_WORKER_ADDR_BYTES, MAX_UCX_PACKED_RKEY_BYTES);
  const auto bytes = encode_ucx_export_descriptor(d);
  EXPECT_LE(bytes.size(), wire::MAX_TRANSPORT_DESCRIPTOR_BYTES);
  EXPECT_EQ(decode_ucx_export_descriptor(bytes), d);
  EXPECT_EQ(decode_ucx_export_descriptor(encode_ucx_export_descriptor(sample(1, 1, 1))), sample(1, 1, 1));
}

TEST(UcxExportDescriptor, EncodeRefusesOversizeAndEmptyFields) {
  expect_wire_error([] { encode_ucx_export_descriptor(sample(MAX_UCX_SHM_NAME_BYTES + 1)); }, WireErrc::TOO_LONG,
                    "UcxExportDescriptor.shm_name");
  expect_wire_error([] { encode_ucx_export_descriptor(sample(12, MAX_UCX_WORKER_ADDR_BYTES + 1)); },
                    WireErrc::TOO_LONG, "UcxExportDescriptor.owner_worker_addr");
  expect_wire_error([] { encode_ucx_export_descriptor(sample(12, 200, MAX_UCX_PACKED_RKEY_BYTES + 1)); },
                    WireErrc::TOO_LONG, "UcxExportDescriptor.packed_rkey");
  expect_wire_error([] { encode_ucx_export_descriptor(sample(12, 0)); }, WireErrc::INVALID_VALUE,
                    "UcxExportDescriptor.owner_worker_addr");
  expect_wire_error([] { encode_ucx_export_descriptor(sample(12, 200, 0)); }, WireErrc::INVALID_VALUE,
                    "UcxExportDescriptor.packed_rkey");
  UcxExportDescriptor bad_name = sample();
  bad_name.shm_name = std::string("/\xff\xfe", 3);
  expect_wire_error([&] { encode_ucx_export_descriptor(bad_name); }, WireErrc::INVALID_UTF8,
                    "UcxExportDescriptor.shm_name");
}

TEST(UcxExportDescriptor, DecodeRejectsWrongVersion) {
  for (uint32_t version : {0u, 2u, 0xFFFFFFFFu}) {
    auto bytes = encode_ucx_export_descriptor(sample());
    bytes[0] = static_cast<uint8_t>(version);
    bytes[1] = static_cast<uint8_t>(version >> 8);
    bytes[2] = static_cast<uint8_t>(version >> 16);
    bytes[3] = static_cast<uint8_t>(version >> 24);
    expect_wire_error([&] { decode_ucx_export_descriptor(bytes); }, WireErrc::INVALID_VALUE,
                      "UcxExportDescriptor.descriptor_version");
  }
}

TEST(UcxExportDescriptor, DecodeRejectsOversizeLengths) {
  const UcxExportDescriptor d = sample(4, 3, 2);
  // Lengths sit at 20 (shm_name), 28 (owner_worker_addr: after the 4-byte name) and 35 (packed_rkey).
  struct Case {
    size_t at;
    uint32_t length;
    const char* field;
  };
  for (const Case& c : {Case{20, MAX_UCX_SHM_NAME_BYTES + 1, "UcxExportDescriptor.shm_name"},
                        Case{28, MAX_UCX_WORKER_ADDR_BYTES + 1, "UcxExportDescriptor.owner_worker_addr"},
                        Case{35, MAX_UCX_PACKED_RKEY_BYTES + 1, "UcxExportDescriptor.packed_rkey"},
                        Case{35, 0xFFFFFFFFu, "UcxExportDescriptor.packed_rkey"}}) {
    auto bytes = encode_ucx_export_descriptor(d);
    for (int i = 0; i < 4; ++i) bytes[c.at + i] = static_cast<uint8_t>(c.length >> (8 * i));
    expect_wire_error([&] { decode_ucx_export_descriptor(bytes); }, WireErrc::TOO_LONG, c.field);
  }
}

TEST(UcxExportDescriptor, DecodeRejectsEmptyAddressOrKey) {
  UcxExportDescriptor d = sample(4, 3, 2);
  std::vector<uint8_t> bytes;
  put_u32(bytes, 1);
  bytes.insert(bytes.end(), d.host_token.begin(), d.host_token.end());
  put_u32(bytes, 4);
  bytes.insert(bytes.end(), d.shm_name.begin(), d.shm_name.end());
  std::vector<uint8_t> no_addr = bytes;
  put_u32(no_addr, 0);
  put_u32(no_addr, 2);
  no_addr.insert(no_addr.end(), d.packed_rkey.begin(), d.packed_rkey.end());
  expect_wire_error([&] { decode_ucx_export_descriptor(no_addr); }, WireErrc::INVALID_VALUE,
                    "UcxExportDescriptor.owner_worker_addr");
  std::vector<uint8_t> no_key = bytes;
  put_u32(no_key, 3);
  no_key.insert(no_key.end(), d.owner_worker_addr.begin(), d.owner_worker_addr.end());
  put_u32(no_key, 0);
  expect_wire_error([&] { decode_ucx_export_descriptor(no_key); }, WireErrc::INVALID_VALUE,
                    "UcxExportDescriptor.packed_rkey");
}

TEST(UcxExportDescriptor, DecodeRejectsEveryTruncationAndTrailingBytes) {
  const auto bytes = encode_ucx_export_descriptor(sample(4, 3, 2));
  for (size_t n = 0; n < bytes.size(); ++n) {
    try {
      decode_ucx_export_descriptor(std::span<const uint8_t>(bytes.data(), n));
      ADD_FAILURE() << "a " << n << "-byte prefix decoded";
    } catch (const WireError& e) {
      EXPECT_EQ(e.code(), WireErrc::TRUNCATED) << n << ": " << e.what();
    }
  }
  auto longer = bytes;
  longer.push_back(0);
  expect_wire_error([&] { decode_ucx_export_descriptor(longer); }, WireErrc::TRAILING_BYTES, "UcxExportDescriptor");
}

}  // namespace
}  // namespace echelon::session
