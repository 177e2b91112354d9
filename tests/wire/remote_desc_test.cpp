// RemoteTensorDescWire structural rules (protocol.md 6.4; WIRE-14).
#include "wire/byte_reader.h"
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

TEST(RemoteDesc, IsEightyBytesInSpecOrder) {
  RemoteTensorDescWire d = device_desc(3, 7, 128, 64);
  d.remote_addr = 0xAA;
  d.rkey_or_token = 0xBB;
  d.generation = 0xCC;
  ByteWriter w;
  write_remote_desc(w, d);
  SpecBytes s;
  s.u32(2).i32(3).u64(7).u64(128).u64(64).u64(0xAA).u64(0xBB).u64(0xCC).u64(0).u64(0).u64(0);
  EXPECT_EQ(Bytes(w.bytes().begin(), w.bytes().end()), s.bytes());
  EXPECT_EQ(s.size(), REMOTE_TENSOR_DESC_BYTES);
  ByteReader r(s.bytes(), "desc");
  RemoteTensorDescWire back;
  read_remote_desc(r, back);
  EXPECT_EQ(back, d);
}

TEST(RemoteDesc, HostInlineRangeChecked) {
  EXPECT_NO_THROW(validate_remote_desc(inline_desc(1, 2), 4));
  EXPECT_WIRE_ERROR(validate_remote_desc(inline_desc(3, 2), 4), WireErrc::OUT_OF_RANGE, "inline_payload_offset");
  EXPECT_NO_THROW(validate_remote_desc(inline_desc(4, 0), 4));
  EXPECT_WIRE_ERROR(validate_remote_desc(inline_desc(5, 0), 4), WireErrc::OUT_OF_RANGE, "inline_payload_offset");
  // A length that would wrap offset + len.
  RemoteTensorDescWire wrap = inline_desc(2, UINT64_MAX - 1);
  wrap.nbytes = UINT64_MAX - 1;
  EXPECT_WIRE_ERROR(validate_remote_desc(wrap, 4), WireErrc::OUT_OF_RANGE, "inline_payload_offset");
  RemoteTensorDescWire mismatch = inline_desc(0, 2);
  mismatch.nbytes = 3;
  EXPECT_WIRE_ERROR(validate_remote_desc(mismatch, 4), WireErrc::INVALID_VALUE, "inline_payload_len");
}

TEST(RemoteDesc, HostInlineRejectsHandleFields) {
  const auto with = [](auto setter) {
    RemoteTensorDescWire d = inline_desc(0, 4);
    setter(d);
    return d;
  };
  EXPECT_WIRE_ERROR(validate_remote_desc(with([](auto& d) { d.owner_worker_id = 1; }), 4), WireErrc::INVALID_VALUE,
                    "owner_worker_id");
  EXPECT_WIRE_ERROR(validate_remote_desc(with([](auto& d) { d.buffer_id = 1; }), 4), WireErrc::INVALID_VALUE,
                    "buffer_id");
  EXPECT_WIRE_ERROR(validate_remote_desc(with([](auto& d) { d.remote_addr = 1; }), 4), WireErrc::INVALID_VALUE,
                    "remote_addr");
  EXPECT_WIRE_ERROR(validate_remote_desc(with([](auto& d) { d.rkey_or_token = 1; }), 4), WireErrc::INVALID_VALUE,
                    "rkey_or_token");
  EXPECT_WIRE_ERROR(validate_remote_desc(with([](auto& d) { d.generation = 1; }), 4), WireErrc::INVALID_VALUE,
                    "generation");
}

TEST(RemoteDesc, NonInlineRejectsInlineFields) {
  RemoteTensorDescWire d = device_desc(3, 7, 0, 16);
  d.inline_payload_offset = 1;
  EXPECT_WIRE_ERROR(validate_remote_desc(d, 64), WireErrc::INVALID_VALUE, "inline_payload_offset");
  d = window_desc(3, 7, 1, 16);
  d.inline_payload_len = 16;
  EXPECT_WIRE_ERROR(validate_remote_desc(d, 64), WireErrc::INVALID_VALUE, "inline_payload_len");
}

TEST(RemoteDesc, NonInlineRejectsZeroBufferOrGeneration) {
  RemoteTensorDescWire d = device_desc(3, 0, 0, 16);
  EXPECT_WIRE_ERROR(validate_remote_desc(d, 0), WireErrc::INVALID_VALUE, "buffer_id");
  d = device_desc(3, 7, 0, 16);
  d.generation = 0;
  EXPECT_WIRE_ERROR(validate_remote_desc(d, 0), WireErrc::INVALID_VALUE, "generation");
  d = device_desc(-1, 7, 0, 16);
  EXPECT_WIRE_ERROR(validate_remote_desc(d, 0), WireErrc::INVALID_VALUE, "owner_worker_id");
}

TEST(RemoteDesc, RejectsNonZeroFlags) {
  RemoteTensorDescWire d = device_desc(3, 7, 0, 16);
  d.flags = 1;
  EXPECT_WIRE_ERROR(validate_remote_desc(d, 0), WireErrc::RESERVED_NONZERO, "flags");
}

TEST(RemoteDesc, RejectsUnknownAddressSpace) {
  for (uint32_t space : {0u, 5u, 99u}) {
    SpecBytes s;
    s.u32(space).i32(3).u64(7).u64(0).u64(16).u64(0).u64(0).u64(1).u64(0).u64(0).u64(0);
    ByteReader r(s.bytes(), "desc");
    RemoteTensorDescWire d;
    EXPECT_WIRE_ERROR(read_remote_desc(r, d), WireErrc::UNKNOWN_ENUM, "address_space");
  }
}

TEST(RemoteDesc, RejectsOffsetPlusLengthOverflow) {
  RemoteTensorDescWire d = device_desc(3, 7, UINT64_MAX - 4, 4);
  EXPECT_NO_THROW(validate_remote_desc(d, 0));
  d.nbytes = 5;
  EXPECT_WIRE_ERROR(validate_remote_desc(d, 0), WireErrc::OUT_OF_RANGE, "nbytes");
}

}  // namespace
}  // namespace echelon::wire::test
