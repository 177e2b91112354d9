// COMPLETION (protocol.md 7; WIRE-16) and the bounded error text.
#include "wire/utf8.h"
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

FrameView as_frame(const Bytes& storage) { return decode_frame(storage); }

Bytes completion_frame(uint64_t header_seq, const CompletionPayload& c) {
  return encode_frame(FrameType::COMPLETION, {1, 0, header_seq, 0}, encode_completion(c));
}

TEST(Completion, RoundTripsAndMapsCodes) {
  const CompletionPayload c{7, 3, "buffer 9 is unknown"};
  EXPECT_EQ(decode_completion(encode_completion(c)), c);
  EXPECT_EQ(c.status(), WireStatus::NOT_FOUND);
  EXPECT_EQ(status_from_code(6), WireStatus::FAILED);
  EXPECT_EQ(status_from_code(-3), WireStatus::FAILED);
  EXPECT_EQ(status_from_code(0), WireStatus::OK);
}

TEST(Completion, SequenceMismatchRejected) {
  const Bytes good = completion_frame(7, {7, 0, ""});
  EXPECT_EQ(decode_completion(as_frame(good), 7).sequence, 7u);
  EXPECT_WIRE_ERROR(decode_completion(as_frame(good), 8), WireErrc::SEQUENCE_MISMATCH, "FrameHeader.sequence");
  const Bytes inner = completion_frame(7, {6, 0, ""});
  EXPECT_WIRE_ERROR(decode_completion(as_frame(inner), 7), WireErrc::SEQUENCE_MISMATCH, "CompletionPayload.sequence");
}

TEST(Completion, OversizedUtf8MessageRejected) {
  // 1365 three-byte characters + 2 ASCII = 4097 bytes, only 1367 characters.
  std::string text;
  for (int i = 0; i < 1365; ++i) text += "\xE2\x82\xAC";
  text += "ab";
  ASSERT_EQ(text.size(), 4097u);
  EXPECT_WIRE_ERROR(encode_completion({1, 1, text}), WireErrc::TOO_LONG, "error_message");
  SpecBytes s;
  s.u64(1).i32(1).u32(4097).ascii(text);
  EXPECT_WIRE_ERROR(decode_completion(s.bytes()), WireErrc::TOO_LONG, "error_message");
  text.pop_back();
  EXPECT_EQ(decode_completion(encode_completion({1, 1, text})).error_message, text);
}

TEST(Completion, EncoderWritesOnlyKnownCodes) {
  EXPECT_WIRE_ERROR(encode_completion({1, 6, ""}), WireErrc::UNKNOWN_ENUM, "error_code");
  EXPECT_WIRE_ERROR(encode_completion({1, -1, ""}), WireErrc::UNKNOWN_ENUM, "error_code");
  // A receiver still accepts them and reads FAILED.
  SpecBytes s;
  s.u64(1).i32(-7).u32(0);
  EXPECT_EQ(decode_completion(s.bytes()).status(), WireStatus::FAILED);
}

TEST(Completion, RejectsInvalidUtf8AndTrailingBytes) {
  SpecBytes s;
  s.u64(1).i32(1).u32(1).u8(0xFF);
  EXPECT_WIRE_ERROR(decode_completion(s.bytes()), WireErrc::INVALID_UTF8, "error_message");
  Bytes b = encode_completion({1, 0, ""});
  b.push_back(0);
  EXPECT_WIRE_ERROR(decode_completion(b), WireErrc::TRAILING_BYTES, "COMPLETION");
}

TEST(ErrorText, TruncatesAtUtf8BoundaryWithinLimit) {
  std::string text(4094, 'a');
  text += "\xF0\x9F\x98\x80";  // a 4-byte character straddling the limit
  const CompletionPayload c = make_completion(3, WireStatus::FAILED, text);
  EXPECT_EQ(c.error_message.size(), 4094u);
  EXPECT_TRUE(is_valid_utf8(c.error_message));
  EXPECT_NO_THROW(encode_completion(c));
  // Short text is kept verbatim.
  EXPECT_EQ(bounded_error_text("kernel returned 7"), "kernel returned 7");
}

TEST(ErrorText, RepairsInvalidBytesBeforeCutting) {
  const std::string bad = std::string("bad \xFF\xFE name \xC3") ;
  const std::string repaired = bounded_error_text(bad);
  EXPECT_EQ(repaired, "bad ?? name ?");
  EXPECT_TRUE(is_valid_utf8(repaired));
}

TEST(Utf8, RejectsMalformedSequences) {
  EXPECT_TRUE(is_valid_utf8("plain ascii text that is long enough"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xE2\x82"));       // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // stray continuation
}

}  // namespace
}  // namespace echelon::wire::test
