// Frame header layout and checks (protocol.md 2, WIRE-2/3/4/22).
#include "wire/frame_assembler.h"
#include "wire/frame_header.h"
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

FrameHeader sample_header() {
  FrameHeader h;
  h.type = FrameType::TASK;
  h.session_id = 0x7EDCBA9876543210ull;
  h.worker_id = 0x01020304;
  h.sequence = 0x1122334455667788ull;
  h.payload_bytes = 0x00010203;
  h.flags = FRAME_FLAG_GROUP_TARGET;
  return h;
}

Bytes encode_header(const FrameHeader& h) {
  Bytes out(FRAME_HEADER_BYTES);
  encode_frame_header(h, std::span<uint8_t, FRAME_HEADER_BYTES>(out.data(), FRAME_HEADER_BYTES));
  return out;
}

// A valid header announcing `payload_bytes`, followed by that many bytes.
Bytes frame_with_payload(uint32_t type, uint32_t payload_bytes, uint64_t sequence = 1) {
  return concat(spec_header(type, 42, 0, sequence, payload_bytes), Bytes(payload_bytes, 0));
}

TEST(FrameHeader, GoldenBytesMatchTable) {
  // Written out from the offset table of protocol.md section 2, field by field.
  const Bytes expected = {
      0x53, 0x4C, 0x52, 0x33,                          // @0  magic "SLR3"
      0x01, 0x00, 0x00, 0x00,                          // @4  version 1
      0x02, 0x00, 0x00, 0x00,                          // @8  frame_type TASK
      0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0x7E,  // @12 session_id
      0x04, 0x03, 0x02, 0x01,                          // @20 worker_id
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // @24 sequence
      0x03, 0x02, 0x01, 0x00,                          // @32 payload_bytes
      0x01, 0x00, 0x00, 0x00,                          // @36 flags GROUP_TARGET
  };
  EXPECT_EQ(encode_header(sample_header()), expected);
  EXPECT_EQ(decode_frame_header(expected), sample_header());
}

TEST(FrameHeader, RoundTripsEveryField) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    FrameHeader h;
    h.type = static_cast<FrameType>(1 + rng() % 5);  // types that may carry any payload length
    h.session_id = rng();
    h.worker_id = static_cast<int32_t>(rng());
    h.sequence = rng();
    h.payload_bytes = static_cast<uint32_t>(rng() % (MAX_FRAME_PAYLOAD_BYTES + 1));
    h.flags = static_cast<uint32_t>(rng() & FRAME_FLAGS_KNOWN);
    const Bytes bytes = encode_header(h);
    ASSERT_EQ(bytes.size(), 40u);
    EXPECT_EQ(decode_frame_header(bytes), h);
  }
}

TEST(FrameHeader, RejectsTruncatedHeader) {
  const Bytes full = spec_header(2, 1, 0, 1, 0);
  for (size_t n = 0; n < FRAME_HEADER_BYTES; ++n)
    EXPECT_WIRE_ERROR(decode_frame_header(std::span(full).first(n)), WireErrc::TRUNCATED, "FrameHeader");
}

TEST(FrameHeader, RejectsBadMagic) {
  Bytes b = spec_header(2, 1, 0, 1, 0);
  b[3] = '2';
  EXPECT_WIRE_ERROR(decode_frame(b), WireErrc::BAD_MAGIC, "FrameHeader.magic");
}

TEST(FrameHeader, RejectsBadVersion) {
  for (uint32_t v : {0u, 2u, 3u, 0xFFFFFFFFu})
    EXPECT_WIRE_ERROR(decode_frame(spec_header(2, 1, 0, 1, 0, 0, v)), WireErrc::BAD_VERSION, "FrameHeader.version");
}

TEST(FrameHeader, RejectsUnknownType) {
  for (uint32_t t : {0u, 8u, 9u, 0x80000000u})
    EXPECT_WIRE_ERROR(decode_frame(spec_header(t, 1, 0, 1, 0)), WireErrc::UNKNOWN_FRAME_TYPE, "FrameHeader.frame_type");
  FrameHeader h = sample_header();
  h.type = static_cast<FrameType>(8);
  EXPECT_WIRE_ERROR(encode_header(h), WireErrc::UNKNOWN_FRAME_TYPE, "frame_type");
}

TEST(FrameHeader, RejectsUnknownFlagBits) {
  for (uint32_t f : {0x2u, 0x3u, 0x80000000u})
    EXPECT_WIRE_ERROR(decode_frame(spec_header(2, 1, 0, 1, 0, f)), WireErrc::UNKNOWN_FLAGS, "FrameHeader.flags");
  FrameHeader h = sample_header();
  h.flags = 0x4;
  EXPECT_WIRE_ERROR(encode_header(h), WireErrc::UNKNOWN_FLAGS, "flags");
}

TEST(FrameHeader, AcceptsAndPreservesGroupTargetFlag) {
  const FrameView v = decode_frame(spec_header(5, 1, 0, 1, 0, FRAME_FLAG_GROUP_TARGET));
  EXPECT_EQ(v.header.flags, FRAME_FLAG_GROUP_TARGET);
  const Bytes again = encode_frame(FrameType::COMPLETION, {1, 0, 1, FRAME_FLAG_GROUP_TARGET}, {});
  EXPECT_EQ(again, spec_header(5, 1, 0, 1, 0, FRAME_FLAG_GROUP_TARGET));
}

TEST(FrameHeader, RejectsOversizedPayloadLength) {
  EXPECT_WIRE_ERROR(decode_frame_header(spec_header(2, 1, 0, 1, MAX_FRAME_PAYLOAD_BYTES + 1)),
                    WireErrc::PAYLOAD_TOO_LARGE, "FrameHeader.payload_bytes");
  EXPECT_NO_THROW(decode_frame_header(spec_header(2, 1, 0, 1, MAX_FRAME_PAYLOAD_BYTES)));
  // A negotiated smaller maximum applies in the same place.
  EXPECT_WIRE_ERROR(decode_frame_header(spec_header(2, 1, 0, 1, 4097), 4096), WireErrc::PAYLOAD_TOO_LARGE,
                    "payload_bytes");
  EXPECT_NO_THROW(decode_frame_header(spec_header(2, 1, 0, 1, 4096), 4096));
}

TEST(FrameHeader, RejectsLengthMismatch) {
  Bytes b = frame_with_payload(2, 10);
  b.pop_back();
  EXPECT_WIRE_ERROR(decode_frame(b), WireErrc::LENGTH_MISMATCH, "payload_bytes");
  b.push_back(0);
  b.push_back(0);
  EXPECT_WIRE_ERROR(decode_frame(b), WireErrc::LENGTH_MISMATCH, "payload_bytes");
  b.pop_back();
  EXPECT_EQ(decode_frame(b).payload.size(), 10u);
}

TEST(FrameHeader, ChecksRunInSpecOrder) {
  // Magic before version before type before flags before length: one header breaks all of them.
  Bytes b = spec_header(99, 1, 0, 1, MAX_FRAME_PAYLOAD_BYTES + 1, 0x8, 7);
  EXPECT_WIRE_ERROR(decode_frame(b), WireErrc::BAD_VERSION, "version");
  b[0] = 'X';
  EXPECT_WIRE_ERROR(decode_frame(b), WireErrc::BAD_MAGIC, "magic");
  EXPECT_WIRE_ERROR(decode_frame(spec_header(99, 1, 0, 1, MAX_FRAME_PAYLOAD_BYTES + 1, 0x8)),
                    WireErrc::UNKNOWN_FRAME_TYPE, "frame_type");
  EXPECT_WIRE_ERROR(decode_frame(spec_header(2, 1, 0, 1, MAX_FRAME_PAYLOAD_BYTES + 1, 0x8)), WireErrc::UNKNOWN_FLAGS,
                    "flags");
}

TEST(FrameHeader, HeaderOnlyTypesRejectPayload) {
  EXPECT_WIRE_ERROR(decode_frame(frame_with_payload(7, 1)), WireErrc::UNEXPECTED_PAYLOAD, "payload_bytes");
  EXPECT_WIRE_ERROR(decode_frame(frame_with_payload(7, 32, 0)), WireErrc::UNEXPECTED_PAYLOAD, "payload_bytes");
  EXPECT_WIRE_ERROR(decode_frame(frame_with_payload(6, 1)), WireErrc::UNEXPECTED_PAYLOAD, "payload_bytes");
  // The authentication proof is exactly 32 bytes at health sequence 0, nothing else.
  EXPECT_WIRE_ERROR(decode_frame(frame_with_payload(6, 32, 1)), WireErrc::UNEXPECTED_PAYLOAD, "payload_bytes");
  EXPECT_WIRE_ERROR(decode_frame(frame_with_payload(6, 31, 0)), WireErrc::UNEXPECTED_PAYLOAD, "payload_bytes");
  EXPECT_EQ(decode_frame(frame_with_payload(6, 32, 0)).payload.size(), 32u);
  EXPECT_NO_THROW(decode_frame(frame_with_payload(6, 0, 9)));
  EXPECT_NO_THROW(decode_frame(frame_with_payload(7, 0, 9)));
  EXPECT_WIRE_ERROR(encode_frame(FrameType::SHUTDOWN, {1, 0, 3, 0}, Bytes{1}), WireErrc::UNEXPECTED_PAYLOAD,
                    "payload_bytes");
}

TEST(FrameHeader, EncoderRefusesOversizedPayload) {
  const Bytes big(MAX_FRAME_PAYLOAD_BYTES + 1, 0);
  EXPECT_WIRE_ERROR(encode_frame(FrameType::TASK, {1, 0, 1, 0}, big), WireErrc::PAYLOAD_TOO_LARGE, "payload_bytes");
}

// --- stream assembly (WIRE-4) -------------------------------------------------------------------

TEST(FrameReader, HugeLengthFailsWithoutAllocating) {
  FrameAssembler a;
  const Bytes header = spec_header(2, 1, 0, 1, 0xFFFFFFFFu);
  auto want = a.want();
  ASSERT_EQ(want.size(), FRAME_HEADER_BYTES);
  std::copy(header.begin(), header.end(), want.begin());
  EXPECT_WIRE_ERROR(a.commit(header.size()), WireErrc::PAYLOAD_TOO_LARGE, "payload_bytes");
  EXPECT_EQ(a.payload_capacity(), 0u);
  EXPECT_TRUE(a.want().empty());  // failed: asks for nothing more
}

// Feeds one whole frame into the assembler; true when it completed.
bool feed(FrameAssembler& a, const Bytes& frame) {
  size_t pos = 0;
  bool done = false;
  while (pos < frame.size() && !done) {
    auto want = a.want();
    const size_t n = std::min(want.size(), frame.size() - pos);
    std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(pos), n, want.begin());
    pos += n;
    done = a.commit(n);
  }
  return done && pos == frame.size();
}

TEST(FrameReader, RecycledStorageReceivesTheNextLargeFrame) {
  const Bytes big = concat(spec_header(5, 9, 2, 4, 100'000), Bytes(100'000, 3));
  const Bytes smaller = concat(spec_header(5, 9, 2, 5, 70'000), Bytes(70'000, 4));
  const Bytes tiny = concat(spec_header(5, 9, 2, 6, 7), Bytes(7, 5));
  FrameAssembler a;
  ASSERT_TRUE(feed(a, big));
  std::vector<uint8_t> first = a.take();
  EXPECT_EQ(first, big);
  const uint8_t* storage = first.data();
  a.recycle(std::move(first));
  EXPECT_GE(a.spare_capacity(), big.size());
  // A small frame does not take the spare; the next large one is received into it, exactly.
  ASSERT_TRUE(feed(a, tiny));
  EXPECT_EQ(a.take(), tiny);
  ASSERT_TRUE(feed(a, smaller));
  std::vector<uint8_t> second = a.take();
  EXPECT_EQ(second.data(), storage) << "the recycled buffer was not reused";
  EXPECT_EQ(second, smaller);
  EXPECT_EQ(a.spare_capacity(), 0u);
  // Too small to be worth keeping, or larger than any frame this assembler accepts: dropped.
  a.recycle(Bytes(100, 0));
  EXPECT_EQ(a.spare_capacity(), 0u);
  FrameAssembler limited(1000);
  limited.recycle(Bytes(100'000, 0));
  EXPECT_EQ(limited.spare_capacity(), 0u);
}

TEST(FrameReader, RoutedTailGoesToTheRoutersSpanAndADeclinedFrameArrivesWhole) {
  const Bytes payload = [] {
    Bytes p(1000);
    for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
    return p;
  }();
  const Bytes frame = concat(spec_header(5, 9, 2, 4, 1000), payload);
  const Bytes short_frame = concat(spec_header(5, 9, 2, 5, 10), Bytes(10, 1));  // not past the prefix
  Bytes destination(990, 0);
  int asked = 0;
  bool accept = true;
  FrameAssembler a;
  a.set_tail_router(10, [&](const FrameHeader& h, std::span<const uint8_t> prefix) -> std::span<uint8_t> {
    ++asked;
    EXPECT_EQ(h.payload_bytes, 1000u);
    EXPECT_EQ(Bytes(prefix.begin(), prefix.end()), Bytes(payload.begin(), payload.begin() + 10));
    return accept ? std::span<uint8_t>(destination) : std::span<uint8_t>();
  });
  ASSERT_TRUE(feed(a, frame));
  EXPECT_TRUE(a.tail_routed());
  EXPECT_EQ(a.take(), Bytes(frame.begin(), frame.begin() + FRAME_HEADER_BYTES + 10));
  EXPECT_EQ(destination, Bytes(payload.begin() + 10, payload.end()));
  ASSERT_TRUE(feed(a, short_frame));
  EXPECT_FALSE(a.tail_routed());
  EXPECT_EQ(a.take(), short_frame);
  EXPECT_EQ(asked, 1);
  accept = false;
  std::fill(destination.begin(), destination.end(), 0);
  ASSERT_TRUE(feed(a, frame));
  EXPECT_FALSE(a.tail_routed());
  EXPECT_EQ(a.take(), frame);
  EXPECT_EQ(destination, Bytes(990, 0)) << "a declined tail was written to the router's span";
  EXPECT_EQ(asked, 2);
}

TEST(FrameReader, ResumesAcrossPartialHeaderAndPayload) {
  const Bytes payload = {1, 2, 3, 4, 5, 6, 7};
  const Bytes first = concat(spec_header(5, 9, 2, 4, 7), payload);
  const Bytes second = spec_header(6, 9, 2, 5, 0);
  const Bytes stream = concat(first, second);
  FrameAssembler a;
  size_t pos = 0;
  std::vector<FrameHeader> seen;
  // Deliver in awkward 3-byte pieces; want() never asks past the current frame.
  while (pos < stream.size()) {
    auto want = a.want();
    const size_t n = std::min({want.size(), size_t{3}, stream.size() - pos});
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(pos), n, want.begin());
    pos += n;
    if (a.commit(n)) {
      const FrameView f = a.frame();
      seen.push_back(f.header);
      if (seen.size() == 1) {
        EXPECT_EQ(Bytes(f.payload.begin(), f.payload.end()), payload);
      }
      a.reset();
    }
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, FrameType::COMPLETION);
  EXPECT_EQ(seen[0].sequence, 4u);
  EXPECT_EQ(seen[1].type, FrameType::HEALTH);
  EXPECT_EQ(seen[1].sequence, 5u);
}

}  // namespace
}  // namespace echelon::wire::test
