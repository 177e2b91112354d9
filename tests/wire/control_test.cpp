// CONTROL / CONTROL_REPLY envelopes and the catalogue dispatch (protocol.md 8, 9; WIRE-18/21).
#include "wire/control_catalogue.h"
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

Bytes reply_frame(uint64_t header_seq, uint64_t payload_seq, ControlName name, uint32_t version) {
  const ControlReply r{payload_seq, name, version, 0, "", {}};
  return encode_frame(FrameType::CONTROL_REPLY, {1, 0, header_seq, 0}, encode_control_reply(r));
}

const AwaitedControl kAwaited{12, ControlName::FREE_REMOTE_BUFFER, 1};

TEST(Control, EnvelopeLayoutMatchesSpec) {
  const Bytes command = encode_buffer_ref({3, 7, 1});
  SpecBytes s;
  s.u32(7).u32(1).u32(20).raw(command);
  EXPECT_EQ(encode_control({ControlName::FREE_REMOTE_BUFFER, 1, command}), s.bytes());
  const ControlRequest back = decode_control(s.bytes());
  EXPECT_EQ(back.name, ControlName::FREE_REMOTE_BUFFER);
  EXPECT_EQ(Bytes(back.command.begin(), back.command.end()), command);
}

TEST(Control, ReplySequenceMismatchRejected) {
  EXPECT_NO_THROW(decode_control_reply(decode_frame(reply_frame(12, 12, kAwaited.name, 1)), kAwaited));
  EXPECT_WIRE_ERROR(decode_control_reply(decode_frame(reply_frame(13, 13, kAwaited.name, 1)), kAwaited),
                    WireErrc::SEQUENCE_MISMATCH, "FrameHeader.sequence");
  EXPECT_WIRE_ERROR(decode_control_reply(decode_frame(reply_frame(12, 11, kAwaited.name, 1)), kAwaited),
                    WireErrc::SEQUENCE_MISMATCH, "ControlReplyPayload.sequence");
}

TEST(Control, ReplyNameMismatchRejected) {
  EXPECT_WIRE_ERROR(
      decode_control_reply(decode_frame(reply_frame(12, 12, ControlName::ALLOC_REMOTE_BUFFER, 1)), kAwaited),
      WireErrc::CONTROL_MISMATCH, "control_name");
}

TEST(Control, ReplyVersionMismatchRejected) {
  EXPECT_WIRE_ERROR(decode_control_reply(decode_frame(reply_frame(12, 12, kAwaited.name, 2)), kAwaited),
                    WireErrc::CONTROL_MISMATCH, "control_version");
}

TEST(Control, ReplyOfWrongFrameTypeRejected) {
  const Bytes completion = encode_frame(FrameType::COMPLETION, {1, 0, 12, 0}, encode_completion({12, 0, ""}));
  EXPECT_WIRE_ERROR(decode_control_reply(decode_frame(completion), kAwaited), WireErrc::INVALID_VALUE, "frame_type");
}

TEST(Control, UnknownNameRejected) {
  for (uint32_t name : {0u, 18u, 1000u}) {
    SpecBytes s;
    s.u32(name).u32(1).u32(0);
    EXPECT_WIRE_ERROR(decode_control(s.bytes()), WireErrc::UNKNOWN_ENUM, "control_name");
  }
  EXPECT_WIRE_ERROR(encode_control({static_cast<ControlName>(18), 1, {}}), WireErrc::UNKNOWN_ENUM, "control_name");
}

TEST(Control, ZeroVersionRejected) {
  SpecBytes s;
  s.u32(7).u32(0).u32(0);
  EXPECT_WIRE_ERROR(decode_control(s.bytes()), WireErrc::INVALID_VALUE, "control_version");
}

TEST(Control, TruncatedPayloadRejected) {
  const Bytes three = {7, 0, 0};
  EXPECT_WIRE_ERROR(decode_control(three), WireErrc::TRUNCATED, "control_name");
  SpecBytes s;
  s.u32(7).u32(1).u32(20).fill(0, 19);  // command_len past the end
  EXPECT_WIRE_ERROR(decode_control(s.bytes()), WireErrc::TRUNCATED, "command_len");
}

TEST(Control, ReplyResultAndMessageBounded) {
  SpecBytes oversized_message;
  oversized_message.u64(1).u32(7).u32(1).i32(2).u32(MAX_ERROR_BYTES + 1).fill('e', MAX_ERROR_BYTES + 1).u32(0);
  EXPECT_WIRE_ERROR(decode_control_reply(oversized_message.bytes()), WireErrc::TOO_LONG, "error_message");
  SpecBytes result_past_end;
  result_past_end.u64(1).u32(7).u32(1).i32(0).u32(0).u32(10).fill(0, 9);
  EXPECT_WIRE_ERROR(decode_control_reply(result_past_end.bytes()), WireErrc::TRUNCATED, "result_len");
  SpecBytes result_too_large;
  result_too_large.u64(1).u32(7).u32(1).i32(0).u32(0).u32(MAX_FRAME_PAYLOAD_BYTES + 1);
  EXPECT_WIRE_ERROR(decode_control_reply(result_too_large.bytes()), WireErrc::TOO_LONG, "result_len");
}

TEST(Control, DomainControlsDecodeAsKnownNamesButAreUnsupported) {
  for (uint32_t n = 13; n <= 17; ++n) {
    SpecBytes s;
    s.u32(n).u32(1).u32(4).u32(2);
    const ControlRequest c = decode_control(s.bytes());  // the envelope is fine
    EXPECT_EQ(family_of(c.name), ControlFamily::DOMAIN);
    EXPECT_WIRE_ERROR(decode_control_command(c.name, c.version, c.command), WireErrc::UNSUPPORTED, "control_name");
    try {
      decode_control_command(c.name, c.version, c.command);
    } catch (const WireError& e) {
      EXPECT_EQ(status_for_rejection(e), WireStatus::UNSUPPORTED);
    }
  }
}

TEST(Control, UnimplementedVersionIsUnsupported) {
  EXPECT_WIRE_ERROR(decode_control_command(ControlName::FREE_REMOTE_BUFFER, 2, encode_buffer_ref({3, 7, 1})),
                    WireErrc::UNSUPPORTED, "control_version");
  EXPECT_WIRE_ERROR(decode_control_command(ControlName::COPY_TO_REMOTE, 3, {}), WireErrc::UNSUPPORTED,
                    "control_version");
  EXPECT_TRUE(is_implemented(ControlName::COPY_FROM_REMOTE, 2));
  EXPECT_FALSE(is_implemented(ControlName::EXPORT_BUFFER, 2));
}

TEST(Control, CommandOfWrongLayoutRefusedByEncoder) {
  EXPECT_WIRE_ERROR(encode_control_command(ControlName::FREE_REMOTE_BUFFER, 1, AllocRequest{4}),
                    WireErrc::INVALID_VALUE, "command_bytes");
  EXPECT_WIRE_ERROR(encode_control_result(ControlName::ALLOC_REMOTE_BUFFER, 1, EmptyResult{}), WireErrc::INVALID_VALUE,
                    "result_bytes");
}

TEST(Control, EmptyResultControlsRejectResultBytes) {
  const Bytes one = {1};
  EXPECT_WIRE_ERROR(decode_control_result(ControlName::FREE_REMOTE_BUFFER, 1, one), WireErrc::WRONG_SIZE,
                    "result_bytes");
  EXPECT_EQ(decode_control_result(ControlName::COPY_FROM_REMOTE, 1, one), ControlResult(CopyFromResult{one}));
}

TEST(Control, FailedRepliesFromDecodeErrorsAreRejected) {
  try {
    decode_control_command(ControlName::ALLOC_REMOTE_BUFFER, 1, Bytes(7, 0));
    ADD_FAILURE();
  } catch (const WireError& e) {
    EXPECT_EQ(status_for_rejection(e), WireStatus::REJECTED);
  }
}

}  // namespace
}  // namespace echelon::wire::test
