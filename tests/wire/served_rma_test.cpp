// The data planes' served RMA messages (wire/served_rma.h): the layout byte for byte from the spec
// side, round trips, and each malformed header refused with the field it broke.
#include "wire/served_rma.h"

#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

const Bytes kAddress = {1, 2, 3, 4, 5};
const Bytes kRkey = {9, 8, 7};

// A request header in the spec's order: version, op, reserved, id, epoch, addr, length, blobs.
SpecBytes request_bytes(uint8_t op, uint64_t length, uint8_t version = 1) {
  SpecBytes s;
  s.u8(version).u8(op).u16(0).u32(0).u64(11).u64(3).u64(0x7000).u64(length);
  s.u32(static_cast<uint32_t>(kAddress.size())).raw(kAddress).u32(static_cast<uint32_t>(kRkey.size())).raw(kRkey);
  return s;
}

TEST(ServedRma, RequestLayoutAndRoundTrip) {
  const ServedRmaRequest r{RmaOp::PUT, 11, 3, 0x7000, 4096, kAddress, kRkey};
  const Bytes encoded = encode_served_rma_request(r);
  EXPECT_EQ(encoded, request_bytes(2, 4096).bytes());
  const ServedRmaRequest back = decode_served_rma_request(encoded);
  EXPECT_EQ(back.op, RmaOp::PUT);
  EXPECT_EQ(back.request_id, 11u);
  EXPECT_EQ(back.requester_epoch, 3u);
  EXPECT_EQ(back.remote_addr, 0x7000u);
  EXPECT_EQ(back.length, 4096u);
  EXPECT_EQ(back.requester_address, kAddress);
  EXPECT_EQ(back.packed_rkey, kRkey);
  EXPECT_EQ(expected_data_bytes(back), 4096u);
  EXPECT_EQ(expected_data_bytes(decode_served_rma_request(request_bytes(1, 4096).bytes())), 0u) << "a GET carries none";
}

TEST(ServedRma, ReplyLayoutAndRoundTrip) {
  const ServedRmaReply r{RmaOp::GET, RmaStatus::NOT_REGISTERED, 42};
  const Bytes encoded = encode_served_rma_reply(r);
  SpecBytes s;
  s.u8(1).u8(1).u16(1).u32(0).u64(42);
  EXPECT_EQ(encoded, s.bytes());
  const ServedRmaReply back = decode_served_rma_reply(encoded);
  EXPECT_EQ(back.op, RmaOp::GET);
  EXPECT_EQ(back.status, RmaStatus::NOT_REGISTERED);
  EXPECT_EQ(back.request_id, 42u);
}

TEST(ServedRma, MalformedRequestsNameTheField) {
  EXPECT_WIRE_ERROR(decode_served_rma_request(request_bytes(1, 64, 2).bytes()), WireErrc::BAD_VERSION, "version");
  EXPECT_WIRE_ERROR(decode_served_rma_request(request_bytes(3, 64).bytes()), WireErrc::UNKNOWN_ENUM, "op");
  EXPECT_WIRE_ERROR(decode_served_rma_request(request_bytes(1, 0).bytes()), WireErrc::INVALID_VALUE, "length");
  EXPECT_WIRE_ERROR(decode_served_rma_request(request_bytes(1, kMaxServedRmaBytes + 1).bytes()),
                    WireErrc::INVALID_VALUE, "length");
  EXPECT_NO_THROW(decode_served_rma_request(request_bytes(1, kMaxServedRmaBytes).bytes()));
  Bytes wraps = request_bytes(1, 64).bytes();
  for (size_t i = 24; i < 32; ++i) wraps[i] = 0xFF;  // remote_addr near the top of the address space
  EXPECT_WIRE_ERROR(decode_served_rma_request(wraps), WireErrc::OUT_OF_RANGE, "remote_addr");
  Bytes reserved = request_bytes(1, 64).bytes();
  reserved[2] = 1;
  EXPECT_WIRE_ERROR(decode_served_rma_request(reserved), WireErrc::RESERVED_NONZERO, "reserved");
  Bytes truncated = request_bytes(1, 64).bytes();
  truncated.pop_back();
  EXPECT_WIRE_ERROR(decode_served_rma_request(truncated), WireErrc::TRUNCATED, "packed_rkey");
  Bytes trailing = request_bytes(1, 64).bytes();
  trailing.push_back(0);
  EXPECT_WIRE_ERROR(decode_served_rma_request(trailing), WireErrc::TRAILING_BYTES, "");
  SpecBytes no_address;
  no_address.u8(1).u8(1).u16(0).u32(0).u64(1).u64(1).u64(0x1000).u64(8).u32(0).u32(0);
  EXPECT_WIRE_ERROR(decode_served_rma_request(no_address.bytes()), WireErrc::INVALID_VALUE, "requester_address");
  SpecBytes long_key;
  long_key.u8(1).u8(1).u16(0).u32(0).u64(1).u64(1).u64(0x1000).u64(8).u32(1).u8(1).u32(4097).fill(0, 4097);
  EXPECT_WIRE_ERROR(decode_served_rma_request(long_key.bytes()), WireErrc::TOO_LONG, "packed_rkey");
}

TEST(ServedRma, MalformedRepliesNameTheField) {
  SpecBytes bad_status;
  bad_status.u8(1).u8(2).u16(2).u32(0).u64(1);
  EXPECT_WIRE_ERROR(decode_served_rma_reply(bad_status.bytes()), WireErrc::UNKNOWN_ENUM, "status");
  SpecBytes short_reply;
  short_reply.u8(1).u8(2).u16(0).u32(0).u32(1);
  EXPECT_WIRE_ERROR(decode_served_rma_reply(short_reply.bytes()), WireErrc::TRUNCATED, "request_id");
  SpecBytes reserved;
  reserved.u8(1).u8(2).u16(0).u32(5).u64(1);
  EXPECT_WIRE_ERROR(decode_served_rma_reply(reserved.bytes()), WireErrc::RESERVED_NONZERO, "reserved");
}

TEST(ServedRma, EncoderRefusesWhatTheDecoderWould) {
  ServedRmaRequest big{RmaOp::GET, 1, 1, 0x1000, kMaxServedRmaBytes + 1, kAddress, kRkey};
  EXPECT_THROW(encode_served_rma_request(big), std::invalid_argument);
}

}  // namespace
}  // namespace echelon::wire::test
