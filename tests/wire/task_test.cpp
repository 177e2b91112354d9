// TASK payload (protocol.md 6): layout, counts, arena, sidecar agreement.
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

// Offset of tensor_count in an encoded TASK: digest, six i32, prefix length + bytes.
size_t counts_at(const TaskPayload& t) { return 32 + 24 + 4 + t.config.prefix().size(); }

TEST(Task, RoundTripsTheArgTensorsVerbatim) {
  const TaskPayload t = sample_task();
  const TaskPayload back = decode_task(encode_task(t));
  EXPECT_EQ(back, t);
  EXPECT_EQ(back.config.enable_scope_stats, 1);
  EXPECT_EQ(back.config.prefix(), "/tmp/trace");
  EXPECT_EQ(back.args.inline_payload, t.args.inline_payload);
}

TEST(Task, DecodeIntoReusesStorage) {
  TaskPayload out;
  decode_task_into(encode_task(make_task(16, 16, 4096)), out);
  const auto* tensors = out.args.tensors.data();
  const auto* arena = out.args.inline_payload.data();
  decode_task_into(encode_task(make_task(16, 16, 4096)), out);
  EXPECT_EQ(out.args.tensors.data(), tensors);
  EXPECT_EQ(out.args.inline_payload.data(), arena);
  EXPECT_EQ(out, make_task(16, 16, 4096));
}

TEST(Task, TensorCountAboveMaximumRejected) {
  EXPECT_NO_THROW(encode_task(make_task(MAX_TENSORS, 0, 0)));
  EXPECT_WIRE_ERROR(encode_task(make_task(MAX_TENSORS + 1, 0, 0)), WireErrc::COUNT_TOO_LARGE, "tensor_count");
  TaskPayload t = make_task(1, 0, 0);
  Bytes b = encode_task(t);
  b[counts_at(t)] = 0x01;
  b[counts_at(t) + 1] = 0x01;  // 257
  EXPECT_WIRE_ERROR(decode_task(b), WireErrc::COUNT_TOO_LARGE, "tensor_count");
}

TEST(Task, ScalarCountAboveMaximumRejected) {
  EXPECT_NO_THROW(encode_task(make_task(0, MAX_SCALARS, 0)));
  EXPECT_WIRE_ERROR(encode_task(make_task(0, MAX_SCALARS + 1, 0)), WireErrc::COUNT_TOO_LARGE, "scalar_count");
}

TEST(Task, CountsThatOverflowThePayloadRejectedBeforeDecoding) {
  TaskPayload t = make_task(0, 2, 0);
  Bytes b = encode_task(t);
  b[counts_at(t) + 4] = 100;  // 100 scalars claimed, 2 present
  EXPECT_WIRE_ERROR(decode_task(b), WireErrc::COUNT_EXCEEDS_PAYLOAD, "scalar_count");
  Bytes tensors = encode_task(t);
  tensors[counts_at(t)] = 200;  // 200 tensors claimed, none present
  EXPECT_WIRE_ERROR(decode_task(tensors), WireErrc::COUNT_EXCEEDS_PAYLOAD, "tensor_count");
}

TEST(Task, InlineArenaBoundedAtOneMebibyte) {
  TaskPayload t = make_task(0, 0, MAX_INLINE_PAYLOAD_BYTES);
  EXPECT_EQ(decode_task(encode_task(t)), t);
  t.args.inline_payload.push_back(0);
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::TOO_LONG, "inline_payload_bytes_len");
  // Decode: a length prefix of 1 MiB + 1 is refused before the bytes are looked at.
  TaskPayload small = make_task(0, 0, 0);
  Bytes b = encode_task(small);
  const uint32_t claimed = MAX_INLINE_PAYLOAD_BYTES + 1;
  for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = static_cast<uint8_t>(claimed >> (8 * i));
  EXPECT_WIRE_ERROR(decode_task(b), WireErrc::TOO_LONG, "inline_payload_bytes_len");
}

TEST(Task, InlineRangeOutsideArenaRejected) {
  TaskPayload t = make_task(0, 0, 64);
  t.args.inline_payload.resize(63);  // the descriptor now reaches one byte past the arena
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::OUT_OF_RANGE, "remote_desc[0].RemoteTensorDescWire.inline_payload_offset");
}

TEST(Task, PresenceByteMustBeBoolean) {
  TaskPayload t = make_task(1, 0, 0);
  Bytes b = encode_task(t);
  const size_t presence_at = counts_at(t) + 8 + 39 + 8 + 4 + 8 + 8 + 4;  // after one 2-dim tensor
  ASSERT_EQ(b[presence_at], 1);
  b[presence_at] = 2;
  EXPECT_WIRE_ERROR(decode_task(b), WireErrc::BAD_BOOL, "remote_desc[0].OptionalRemoteTensorDescWire.present");
}

TEST(Task, AbsentDescriptorRoundTrips) {
  TaskPayload t = make_task(2, 0, 0);
  t.args.remote_desc[1].reset();
  EXPECT_EQ(decode_task(encode_task(t)), t);
  t.args.remote_desc.pop_back();
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::INVALID_VALUE, "remote_desc");
}

TEST(Task, OutputPrefixBoundedAt1023Bytes) {
  TaskPayload t = make_task(0, 0, 0);
  t.config.set_prefix(std::string(1023, 'x'));
  EXPECT_EQ(decode_task(encode_task(t)), t);
  // Decode: a 1024-byte prefix fits the string maximum but not the local field.
  SpecBytes s;
  s.raw(t.callable_digest).fill(0, 24).u32(1024).fill('x', 1024).u32(0).u32(0).u32(0);
  EXPECT_WIRE_ERROR(decode_task(s.bytes()), WireErrc::TOO_LONG, "output_prefix");
}

TEST(Task, ConfigValidatedAsOnLocalSubmit) {
  TaskPayload t = make_task(0, 0, 0);
  t.config.enable_pmu = 1;  // diagnostics without a prefix
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::INVALID_VALUE, "CallConfigWire");
  SpecBytes s;
  s.raw(t.callable_digest).i32(0).i32(0).i32(0).i32(1).i32(0).i32(0).u32(0).u32(0).u32(0).u32(0);
  EXPECT_WIRE_ERROR(decode_task(s.bytes()), WireErrc::INVALID_VALUE, "CallConfigWire");
}

TEST(Task, PlaceholderMustAgreeWithDescriptor) {
  TaskPayload t = make_task(1, 0, 0);
  t.args.remote_desc[0]->generation = 2;  // descriptor moved on, placeholder still says 1
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::STALE_GENERATION, "remote_desc[0].TensorWire.generation");
  t = make_task(1, 0, 0);
  t.args.remote_desc[0]->generation = uint64_t{1} << 32 | 1;  // cannot fit the 32-bit placeholder
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::STALE_GENERATION, "RemoteTensorDescWire.generation");
  t = make_task(1, 0, 0);
  t.args.remote_desc[0]->buffer_id = 99;
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::IDENTITY_MISMATCH, "TensorWire.buffer_id");
  t = make_task(1, 0, 0);
  t.args.remote_desc[0]->owner_worker_id = 4;
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::IDENTITY_MISMATCH, "owner_instance_id");
  t = make_task(1, 0, 0);
  t.args.remote_desc[0]->nbytes = 512;
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::IDENTITY_MISMATCH, "RemoteTensorDescWire.nbytes");
}

TEST(Task, StaleGenerationDetectedOnDecode) {
  TaskPayload t = make_task(1, 0, 0);
  Bytes b = encode_task(t);
  // generation of descriptor 0: tensor record (71 bytes for 2 dims) + presence + 48 bytes of desc head.
  const size_t gen_at = counts_at(t) + 8 + 71 + 1 + 4 + 4 + 8 * 5;
  ASSERT_EQ(b[gen_at], 1);
  b[gen_at] = 2;
  EXPECT_WIRE_ERROR(decode_task(b), WireErrc::STALE_GENERATION, "TensorWire.generation");
}

TEST(Task, LocalBackingNamesTheArgument) {
  TaskPayload t = make_task(3, 0, 0);
  t.args.tensors[2].buffer.backend_kind = BackendKind::FORK_SHM;
  EXPECT_WIRE_ERROR(encode_task(t), WireErrc::LOCAL_BACKING, "tensors[2].TensorWire.backend_kind");
}

TEST(Task, TrailingBytesRejected) {
  Bytes b = encode_task(sample_task());
  b.push_back(0);
  EXPECT_WIRE_ERROR(decode_task(b), WireErrc::TRAILING_BYTES, "TASK");
}

}  // namespace
}  // namespace echelon::wire::test
