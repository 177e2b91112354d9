// The bulk-path encoders and decoders (CopyToView, encode_control, encode_control_reply) skip
// intermediate buffers; these tests pin that they still produce the reference bytes and refuse
// exactly what the reference codec refuses, with the same code, field and text.
#include <functional>
#include <string>

#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

// The error a call throws, as "code|field|detail"; "none" when it does not throw.
std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const WireError& e) {
    return std::string(to_string(e.code())) + "|" + e.field() + "|" + e.detail();
  }
  return "none";
}

// The reference encoding: the whole envelope through ByteWriter.
Bytes reference_control(const ControlRequest& c) {
  ByteWriter w;
  write_control(w, c);
  return w.take();
}

Bytes reference_reply(const ControlReply& r) {
  ByteWriter w;
  write_control_reply(w, r);
  return w.take();
}

TEST(CopyToView, EncodesTheReferenceBytes) {
  const CopyRequest r{3, 7, 1, 16, 4, {1, 2, 3, 4}};
  EXPECT_EQ(encode_copy_to({3, 7, 1, 16, 4, r.data}), encode_copy_request(r, CopyDirection::TO_REMOTE));
  const CopyRequest empty{3, 7, 1, 16, 0, {}};
  EXPECT_EQ(encode_copy_to({3, 7, 1, 16, 0, {}}), encode_copy_request(empty, CopyDirection::TO_REMOTE));
}

TEST(CopyToView, DecodesInPlace) {
  const Bytes b = encode_copy_request({3, 7, 1, 16, 4, {1, 2, 3, 4}}, CopyDirection::TO_REMOTE);
  const CopyToView v = decode_copy_to(b);
  EXPECT_EQ(v.worker_id, 3);
  EXPECT_EQ(v.buffer_id, 7u);
  EXPECT_EQ(v.generation, 1u);
  EXPECT_EQ(v.offset, 16u);
  EXPECT_EQ(v.size, 4u);
  EXPECT_EQ(v.data.data(), b.data() + COPY_REQUEST_HEAD_BYTES) << "the data must be a view, not a copy";
  EXPECT_EQ(Bytes(v.data.begin(), v.data.end()), (Bytes{1, 2, 3, 4}));
}

TEST(CopyToView, RefusesWhatTheReferenceDecoderRefuses) {
  const Bytes good = encode_copy_request({3, 7, 1, 16, 4, {1, 2, 3, 4}}, CopyDirection::TO_REMOTE);
  auto with = [&](size_t at, uint64_t v, size_t width) {
    Bytes b = good;
    for (size_t i = 0; i < width; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
    return b;
  };
  const std::vector<std::pair<std::string, Bytes>> bodies = {
      {"empty", {}},
      {"head cut short", Bytes(good.begin(), good.begin() + 35)},
      {"one data byte missing", Bytes(good.begin(), good.end() - 1)},
      {"one data byte extra", [&] { Bytes b = good; b.push_back(5); return b; }()},
      {"negative worker", with(0, 0xFFFFFFFFu, 4)},
      {"buffer 0", with(4, 0, 8)},
      {"generation 0", with(12, 0, 8)},
      {"offset + size overflows", with(20, UINT64_MAX, 8)},
      {"size far above the data", with(28, UINT64_MAX, 8)},
  };
  for (const auto& [what, bytes] : bodies) {
    const std::string reference =
        error_of([&] { (void)decode_copy_request(bytes, CopyDirection::TO_REMOTE); });
    EXPECT_NE(reference, "none") << what;
    EXPECT_EQ(error_of([&] { (void)decode_copy_to(bytes); }), reference) << what;
  }
}

TEST(CopyToView, EncoderRefusesWhatTheReferenceEncoderRefuses) {
  const Bytes data{1, 2};
  const std::vector<CopyRequest> requests = {
      {-1, 7, 1, 0, 2, data}, {3, 0, 1, 0, 2, data}, {3, 7, 0, 0, 2, data},
      {3, 7, 1, UINT64_MAX, 2, data}, {3, 7, 1, 0, 3, data},
  };
  for (const auto& r : requests) {
    const std::string reference = error_of([&] { (void)encode_copy_request(r, CopyDirection::TO_REMOTE); });
    EXPECT_NE(reference, "none");
    EXPECT_EQ(error_of([&] { (void)encode_copy_to({r.worker_id, r.buffer_id, r.generation, r.offset, r.size, r.data}); }),
              reference);
  }
}

TEST(ControlEnvelope, EncodesTheReferenceBytes) {
  const Bytes command{9, 8, 7, 6, 5};
  for (const ControlRequest& c : {ControlRequest{ControlName::COPY_TO_REMOTE, 1, command},
                                  ControlRequest{ControlName::FREE_REMOTE_BUFFER, 1, {}}}) {
    const Bytes encoded = encode_control(c);
    EXPECT_EQ(encoded, reference_control(c));
    const ControlRequest back = decode_control(encoded);
    EXPECT_EQ(back.name, c.name);
    EXPECT_EQ(Bytes(back.command.begin(), back.command.end()), Bytes(c.command.begin(), c.command.end()));
  }
  for (const ControlReply& r : {ControlReply{42, ControlName::COPY_FROM_REMOTE, 1, 0, "", command},
                                ControlReply{43, ControlName::COPY_TO_REMOTE, 1, static_cast<int32_t>(WireStatus::REJECTED),
                                             "buffer 7 generation 1 was freed", {}}}) {
    const Bytes encoded = encode_control_reply(r);
    EXPECT_EQ(encoded, reference_reply(r));
    const ControlReply back = decode_control_reply(encoded);
    EXPECT_EQ(back.sequence, r.sequence);
    EXPECT_EQ(back.error_message, r.error_message);
    EXPECT_EQ(Bytes(back.result.begin(), back.result.end()), Bytes(r.result.begin(), r.result.end()));
  }
}

TEST(ControlEnvelope, RefusesWhatTheReferenceEncoderRefuses) {
  const Bytes too_long(MAX_FRAME_PAYLOAD_BYTES + 1);
  const std::vector<ControlRequest> requests = {
      {static_cast<ControlName>(99), 1, {}}, {ControlName::COPY_TO_REMOTE, 0, {}}, {ControlName::COPY_TO_REMOTE, 1, too_long}};
  for (const auto& c : requests) {
    const std::string reference = error_of([&] { (void)reference_control(c); });
    EXPECT_NE(reference, "none");
    EXPECT_EQ(error_of([&] { (void)encode_control(c); }), reference);
  }
  const std::vector<ControlReply> replies = {
      {1, static_cast<ControlName>(99), 1, 0, "", {}},
      {1, ControlName::COPY_FROM_REMOTE, 1, 12345, "", {}},
      {1, ControlName::COPY_FROM_REMOTE, 1, 0, "\xff", {}},
      {1, ControlName::COPY_FROM_REMOTE, 1, 0, "", too_long},
  };
  for (const auto& r : replies) {
    const std::string reference = error_of([&] { (void)reference_reply(r); });
    EXPECT_NE(reference, "none");
    EXPECT_EQ(error_of([&] { (void)encode_control_reply(r); }), reference);
  }
}

TEST(CopyToControlPrefix, DecodesTheHeadOfAWholeCopyToControl) {
  const Bytes data(100, 3);
  const Bytes payload = encode_control({ControlName::COPY_TO_REMOTE, 1,
                                        encode_copy_to(CopyToView{4, 5, 6, 7, data.size(), data})});
  const std::span<const uint8_t> prefix(payload.data(), COPY_TO_CONTROL_PREFIX_BYTES);
  const auto head = decode_copy_to_control_prefix(prefix, payload.size());
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->worker_id, 4);
  EXPECT_EQ(head->buffer_id, 5u);
  EXPECT_EQ(head->generation, 6u);
  EXPECT_EQ(head->offset, 7u);
  EXPECT_EQ(head->size, data.size());
  EXPECT_TRUE(head->data.empty());
  // Anything decode_control / decode_copy_to would refuse, or another control: nullopt.
  EXPECT_FALSE(decode_copy_to_control_prefix(prefix, payload.size() + 1));
  EXPECT_FALSE(decode_copy_to_control_prefix(prefix, payload.size() - 1));
  EXPECT_FALSE(decode_copy_to_control_prefix(prefix.first(COPY_TO_CONTROL_PREFIX_BYTES - 1), payload.size()));
  Bytes v2 = payload;
  v2[4] = 2;
  EXPECT_FALSE(decode_copy_to_control_prefix(std::span<const uint8_t>(v2).first(COPY_TO_CONTROL_PREFIX_BYTES), v2.size()));
  const Bytes from = encode_control({ControlName::COPY_FROM_REMOTE, 1,
                                     encode_copy_request(CopyRequest{4, 5, 6, 7, 100, {}}, CopyDirection::FROM_REMOTE)});
  Bytes padded = from;
  padded.resize(payload.size());
  EXPECT_FALSE(decode_copy_to_control_prefix(std::span<const uint8_t>(padded).first(COPY_TO_CONTROL_PREFIX_BYTES),
                                             padded.size()));
  Bytes overflow = payload;
  for (size_t i = 0; i < 8; ++i) overflow[12 + 20 + i] = 0xFF;  // offset = UINT64_MAX
  EXPECT_FALSE(decode_copy_to_control_prefix(std::span<const uint8_t>(overflow).first(COPY_TO_CONTROL_PREFIX_BYTES),
                                             overflow.size()));
  Bytes zero_buffer = payload;
  for (size_t i = 0; i < 8; ++i) zero_buffer[12 + 4 + i] = 0;
  EXPECT_EQ(decode_copy_to_control_prefix(std::span<const uint8_t>(zero_buffer).first(COPY_TO_CONTROL_PREFIX_BYTES),
                                          zero_buffer.size())
                .has_value(),
            error_of([&] { (void)decode_copy_to(std::span<const uint8_t>(zero_buffer).subspan(12)); }) == "none");
}

TEST(ControlReplyHead, HeadThenResultIsTheReferenceReply) {
  const Bytes result = {9, 8, 7, 6, 5};
  const ControlReply reply{77, ControlName::COPY_FROM_REMOTE, 1, 0, "", result};
  const Bytes head = encode_control_reply_head(reply, result.size());
  Bytes whole = head;
  whole.insert(whole.end(), result.begin(), result.end());
  EXPECT_EQ(whole, encode_control_reply(reply));
  const ControlReply back = decode_control_reply(whole);
  EXPECT_EQ(Bytes(back.result.begin(), back.result.end()), result);
  // The reply's own result is ignored: only the announced length counts.
  EXPECT_EQ(encode_control_reply_head(ControlReply{77, ControlName::COPY_FROM_REMOTE, 1, 0, "", {}}, result.size()),
            head);
}

TEST(ControlReplyHead, RefusesWhatTheReferenceEncoderRefuses) {
  EXPECT_EQ(error_of([] {
              (void)encode_control_reply_head({1, ControlName::COPY_FROM_REMOTE, 1, 0, "", {}},
                                              uint64_t{MAX_FRAME_PAYLOAD_BYTES} + 1);
            }).substr(0, 8),
            "TOO_LONG");
  const ControlReply bad_code{1, ControlName::COPY_FROM_REMOTE, 1, 12345, "", {}};
  EXPECT_EQ(error_of([&] { (void)encode_control_reply_head(bad_code, 4); }),
            error_of([&] { (void)reference_reply(bad_code); }));
}

}  // namespace
}  // namespace echelon::wire::test
