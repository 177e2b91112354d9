// HELLO and its extension block (protocol.md 5, 15.1; WIRE-10/32 codec side).
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

TEST(Hello, RoundTripsWithAndWithoutExtension) {
  for (bool ext : {false, true}) {
    const HelloPayload h = sample_hello(ext);
    const Bytes bytes = encode_hello(h);
    EXPECT_EQ(bytes.size(), 32 + h.comm_profile.size() + (ext ? HELLO_EXT_BYTES : 0));
    EXPECT_EQ(decode_hello(bytes), h);
  }
}

TEST(Hello, RejectsDeadIdentityAndVersion) {
  HelloPayload h = sample_hello(false);
  h.session_id = 0;
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::INVALID_VALUE, "HELLO.session_id");
  h = sample_hello(false);
  h.worker_id = -1;
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::INVALID_VALUE, "HELLO.worker_id");
  // Decode side: patch the fields in a valid encoding.
  Bytes b = encode_hello(sample_hello(false));
  Bytes zero_session = b;
  std::fill_n(zero_session.begin(), 8, 0);
  EXPECT_WIRE_ERROR(decode_hello(zero_session), WireErrc::INVALID_VALUE, "HELLO.session_id");
  Bytes bad_version = b;
  bad_version[12] = 2;
  EXPECT_WIRE_ERROR(decode_hello(bad_version), WireErrc::BAD_VERSION, "HELLO.protocol_version");
}

TEST(Hello, RejectsUnknownReadyState) {
  Bytes b = encode_hello(sample_hello(false));
  b[b.size() - 4] = 2;  // ready_state is the last field without extension
  EXPECT_WIRE_ERROR(decode_hello(b), WireErrc::UNKNOWN_ENUM, "HELLO.ready_state");
}

TEST(Hello, CommProfileBoundedAt1024Bytes) {
  HelloPayload h = sample_hello(false);
  h.comm_profile.assign(1024, 'p');
  EXPECT_EQ(decode_hello(encode_hello(h)), h);
  h.comm_profile.push_back('p');
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::TOO_LONG, "HELLO.comm_profile");
  // Decode: claim 1025 bytes in the length prefix.
  SpecBytes s;
  s.u64(1).i32(0).u32(1).u32(1025).fill('p', 1025).u64(0).u32(1);
  EXPECT_WIRE_ERROR(decode_hello(s.bytes()), WireErrc::TOO_LONG, "HELLO.comm_profile");
}

TEST(Hello, RejectsInvalidUtf8Profile) {
  SpecBytes s;
  s.u64(1).i32(0).u32(1).u32(2).u8(0xC3).u8(0x28).u64(0).u32(1);
  EXPECT_WIRE_ERROR(decode_hello(s.bytes()), WireErrc::INVALID_UTF8, "HELLO.comm_profile");
}

TEST(Hello, RejectsUnknownFeatureBits) {
  HelloPayload h = sample_hello(true);
  h.feature_flags |= 0x40;
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::UNKNOWN_FLAGS, "HELLO.feature_flags");
}

TEST(HelloExt, PresenceMatchesFlags) {
  // Flags set but no block: truncated.
  HelloPayload h = sample_hello(false);
  Bytes b = encode_hello(h);
  const size_t flags_at = 8 + 4 + 4 + 4 + h.comm_profile.size();
  b[flags_at] = 1;
  EXPECT_WIRE_ERROR(decode_hello(b), WireErrc::TRUNCATED, "EchelonHelloExt");
  // Block present but flags zero: trailing bytes.
  Bytes with_block = encode_hello(sample_hello(true));
  std::fill_n(with_block.begin() + static_cast<std::ptrdiff_t>(flags_at), 8, 0);
  EXPECT_WIRE_ERROR(decode_hello(with_block), WireErrc::TRAILING_BYTES, "HELLO");
  // Encoder: mismatch refused either way.
  HelloPayload missing = sample_hello(true);
  missing.ext.reset();
  EXPECT_WIRE_ERROR(encode_hello(missing), WireErrc::INVALID_VALUE, "HELLO.ext");
  HelloPayload extra = sample_hello(false);
  extra.ext = HelloExt{};
  EXPECT_WIRE_ERROR(encode_hello(extra), WireErrc::INVALID_VALUE, "HELLO.ext");
}

TEST(HelloExt, FieldsMustMatchEnabledFeatures) {
  HelloPayload h = sample_hello(true);
  h.feature_flags = FEATURE_PYTHON_IMPORT;  // neither auth nor pipelining
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::INVALID_VALUE, "max_tasks_in_flight");
  h.ext->max_tasks_in_flight = 1;
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::INVALID_VALUE, "auth_nonce");
  h.ext->auth_nonce = {};
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::INVALID_VALUE, "auth_mac");
  h.ext->auth_mac = {};
  EXPECT_EQ(decode_hello(encode_hello(h)), h);
  h.feature_flags |= FEATURE_PIPELINED_TASKS;
  h.ext->max_tasks_in_flight = 17;
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::INVALID_VALUE, "max_tasks_in_flight");
  h.ext->max_tasks_in_flight = 16;
  EXPECT_NO_THROW(encode_hello(h));
  h.ext->ext_version = 2;
  EXPECT_WIRE_ERROR(encode_hello(h), WireErrc::UNSUPPORTED, "ext_version");
}

TEST(HelloExt, ReservedTrailerMustBeZero) {
  Bytes b = encode_hello(sample_hello(true));
  b.back() = 1;
  EXPECT_WIRE_ERROR(decode_hello(b), WireErrc::RESERVED_NONZERO, "EchelonHelloExt.reserved");
}

TEST(Hello, MustMatchItsHeader) {
  const HelloPayload h = sample_hello(false);
  FrameHeader header;
  header.type = FrameType::HELLO;
  header.session_id = h.session_id;
  header.worker_id = h.worker_id;
  EXPECT_NO_THROW(check_hello_matches_header(h, header));
  FrameHeader other = header;
  other.session_id ^= 1;
  EXPECT_WIRE_ERROR(check_hello_matches_header(h, other), WireErrc::IDENTITY_MISMATCH, "HELLO.session_id");
  other = header;
  other.worker_id = 4;
  EXPECT_WIRE_ERROR(check_hello_matches_header(h, other), WireErrc::IDENTITY_MISMATCH, "HELLO.worker_id");
  other = header;
  other.sequence = 1;
  EXPECT_WIRE_ERROR(check_hello_matches_header(h, other), WireErrc::SEQUENCE_MISMATCH, "sequence");
}

TEST(Hello, MacInputEndsAfterTheNonce) {
  const HelloPayload h = sample_hello(true);
  const Bytes b = encode_hello(h);
  const size_t n = hello_mac_input_bytes(h);
  ASSERT_EQ(n + 32 + 4, b.size());  // then mac and reserved
  EXPECT_TRUE(std::equal(h.ext->auth_nonce.begin(), h.ext->auth_nonce.end(), b.begin() + static_cast<std::ptrdiff_t>(n - 32)));
}

}  // namespace
}  // namespace echelon::wire::test
