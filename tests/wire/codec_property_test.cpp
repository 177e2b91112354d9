// Property tests over random valid frames (WIRE-7): round trips, every truncation point, trailing
// bytes, and single-byte mutations that must fail only with a typed error.
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

constexpr FrameType kAllTypes[] = {FrameType::HELLO,      FrameType::TASK,   FrameType::CONTROL,
                                   FrameType::CONTROL_REPLY, FrameType::COMPLETION, FrameType::HEALTH,
                                   FrameType::SHUTDOWN};

// Frames per type; 100,000 in total.
size_t rounds_for(FrameType t) {
  switch (t) {
    case FrameType::TASK: return 20000;
    case FrameType::CONTROL:
    case FrameType::CONTROL_REPLY: return 25000;
    case FrameType::HELLO: return 15000;
    case FrameType::COMPLETION: return 10000;
    case FrameType::HEALTH: return 4000;
    case FrameType::SHUTDOWN: return 1000;
  }
  return 0;
}

// The same payload behind a header that announces `payload` exactly.
Bytes reframe(const FrameHeader& h, std::span<const uint8_t> payload) {
  Bytes out = spec_header(static_cast<uint32_t>(h.type), h.session_id, h.worker_id, h.sequence,
                          static_cast<uint32_t>(payload.size()), h.flags);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<Bytes> sample_frames(size_t random_per_type) {
  std::vector<Bytes> out;
  for (const auto& [name, frame] : representative_frames()) out.push_back(encode_typed_frame(frame));
  std::mt19937_64 rng(99);
  for (FrameType t : kAllTypes)
    for (size_t i = 0; i < random_per_type; ++i) out.push_back(encode_typed_frame(random_frame(rng, t)));
  return out;
}

TEST(Codec, RoundTripsRandomValidPayloads) {
  std::mt19937_64 rng(20240601);
  size_t frames = 0;
  for (FrameType type : kAllTypes) {
    for (size_t i = 0; i < rounds_for(type); ++i) {
      const TypedFrame original = random_frame(rng, type);
      const Bytes bytes = encode_typed_frame(original);
      const TypedFrame back = decode_typed_frame(bytes);
      ASSERT_EQ(back.header.type, original.header.type);
      ASSERT_EQ(back.header.session_id, original.header.session_id);
      ASSERT_EQ(back.header.worker_id, original.header.worker_id);
      ASSERT_EQ(back.header.sequence, original.header.sequence);
      ASSERT_EQ(back.header.flags, original.header.flags);
      ASSERT_EQ(back.header.payload_bytes, bytes.size() - FRAME_HEADER_BYTES);
      ASSERT_TRUE(back.payload == original.payload) << to_string(type) << " round " << i;
      ASSERT_EQ(encode_typed_frame(back), bytes) << to_string(type) << " round " << i;
      ++frames;
    }
  }
  EXPECT_GE(frames, 100000u);
}

TEST(Codec, RejectsEveryTruncationPoint) {
  for (const Bytes& frame : sample_frames(20)) {
    const FrameView f = decode_frame(frame);
    if (f.header.type == FrameType::HEALTH || f.header.type == FrameType::SHUTDOWN) continue;
    for (size_t n = 0; n < f.payload.size(); ++n) {
      const Bytes cut = reframe(f.header, f.payload.first(n));
      try {
        decode_typed_frame(cut);
        FAIL() << to_string(f.header.type) << " payload truncated to " << n << " of " << f.payload.size()
               << " bytes was accepted";
      } catch (const WireError&) {
      }
    }
  }
}

TEST(Codec, RejectsTrailingBytes) {
  for (const Bytes& frame : sample_frames(20)) {
    const FrameView f = decode_frame(frame);
    if (f.header.type == FrameType::HEALTH || f.header.type == FrameType::SHUTDOWN) continue;
    Bytes longer(f.payload.begin(), f.payload.end());
    longer.push_back(0);
    try {
      decode_typed_frame(reframe(f.header, longer));
      FAIL() << to_string(f.header.type) << " accepted a trailing byte";
    } catch (const WireError& e) {
      EXPECT_EQ(e.code(), WireErrc::TRAILING_BYTES) << e.what();
    }
  }
}

TEST(Codec, MutatedFramesFailOnlyWithTypedErrors) {
  std::mt19937_64 rng(5);
  size_t rejected = 0, accepted = 0;
  for (const Bytes& frame : sample_frames(30)) {
    for (int i = 0; i < 40; ++i) {
      Bytes m = frame;
      const size_t at = rng() % m.size();
      m[at] = static_cast<uint8_t>(m[at] ^ (1u << (rng() % 8)));
      try {
        const TypedFrame t = decode_typed_frame(m);
        // Whatever decodes must re-encode to the same bytes: the format has no slack.
        EXPECT_EQ(encode_typed_frame(t), m);
        ++accepted;
      } catch (const WireError&) {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 0u);
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace echelon::wire::test
