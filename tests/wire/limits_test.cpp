// Every limit of protocol.md 4 accepts exactly the limit and rejects limit + 1 (WIRE-9).
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

struct LimitRow {
  const char* constant;
  size_t limit;
  std::function<void(size_t)> encode_with;  // encodes a payload whose bounded field has the size
  WireErrc over_code;
};

TEST(Limits, BoundaryValuesAcceptedAndRejected) {
  const std::vector<LimitRow> rows = {
      {"MAX_FRAME_PAYLOAD_BYTES", MAX_FRAME_PAYLOAD_BYTES,
       [](size_t n) { encode_frame(FrameType::TASK, {1, 0, 1, 0}, Bytes(n)); }, WireErrc::PAYLOAD_TOO_LARGE},
      {"MAX_STRING_BYTES (comm_profile)", MAX_STRING_BYTES,
       [](size_t n) {
         HelloPayload h = sample_hello(false);
         h.comm_profile.assign(n, 'c');
         decode_hello(encode_hello(h));
       },
       WireErrc::TOO_LONG},
      {"output_prefix (1023)", MAX_OUTPUT_PREFIX_BYTES,
       [](size_t n) {
         // Built by hand: CallConfig cannot even hold 1024 bytes.
         SpecBytes s;
         s.fill(0, 32).fill(0, 24).u32(static_cast<uint32_t>(n)).fill('p', n).u32(0).u32(0).u32(0);
         decode_task(s.bytes());
       },
       WireErrc::TOO_LONG},
      {"MAX_ERROR_BYTES", MAX_ERROR_BYTES,
       [](size_t n) { decode_completion(encode_completion({1, 1, std::string(n, 'e')})); }, WireErrc::TOO_LONG},
      {"MAX_TENSORS", MAX_TENSORS, [](size_t n) { decode_task(encode_task(make_task(n, 0, 0))); },
       WireErrc::COUNT_TOO_LARGE},
      {"MAX_SCALARS", MAX_SCALARS, [](size_t n) { decode_task(encode_task(make_task(0, n, 0))); },
       WireErrc::COUNT_TOO_LARGE},
      {"MAX_INLINE_PAYLOAD_BYTES", MAX_INLINE_PAYLOAD_BYTES,
       [](size_t n) {
         TaskPayload t = make_task(0, 0, 0);
         t.args.inline_payload.assign(n, 1);
         decode_task(encode_task(t));
       },
       WireErrc::TOO_LONG},
      {"MAX_TENSOR_DIMS", MAX_TENSOR_DIMS,
       [](size_t n) {
         TaskPayload t = make_task(1, 0, 0);
         Tensor& x = t.args.tensors[0];
         x.ndims = static_cast<uint32_t>(n);
         for (size_t i = 0; i < std::min<size_t>(n, MAX_TENSOR_DIMS); ++i) x.shapes[i] = x.strides[i] = 1;
         decode_task(encode_task(t));
       },
       WireErrc::INVALID_VALUE},
      {"MAX_TRANSPORT_PROFILE_BYTES", MAX_TRANSPORT_PROFILE_BYTES,
       [](size_t n) {
         ExportBufferResult e = sample_export_result();
         e.transport_profile.assign(n, 't');
         decode_export_result(encode_export_result(e));
       },
       WireErrc::TOO_LONG},
      {"MAX_TRANSPORT_DESCRIPTOR_BYTES", MAX_TRANSPORT_DESCRIPTOR_BYTES,
       [](size_t n) {
         ImportBufferResult r = sample_import_result();
         r.import_descriptor.assign(n, 1);
         decode_import_result(encode_import_result(r));
       },
       WireErrc::TOO_LONG},
      {"MAX_CHIP_CALLABLE_DESCRIPTOR_BYTES", MAX_CHIP_CALLABLE_DESCRIPTOR_BYTES,
       [](size_t n) {
         ChipCallablePayload p = sample_chip_payload();
         p.descriptor.assign(n, 1);
         decode_chip_payload(encode_chip_payload(p));
       },
       WireErrc::TOO_LONG},
      {"MAX_STAGED_BLOB_TOKEN_BYTES", MAX_STAGED_BLOB_TOKEN_BYTES,
       [](size_t n) {
         ChipCallablePayload p = sample_chip_payload();
         p.blob_location = BlobLocation::STAGED_BLOB;
         p.inline_blob.clear();
         p.staged_blob_token.assign(n, 1);
         decode_chip_payload(encode_chip_payload(p));
       },
       WireErrc::TOO_LONG},
      {"MAX_RMA_KEY_BYTES", MAX_RMA_KEY_BYTES,
       [](size_t n) { decode_copy_rma_request(encode_copy_rma_request({3, 7, 1, 0, 8, 0x1000, Bytes(n, 1)})); },
       WireErrc::TOO_LONG},
  };
  for (const LimitRow& row : rows) {
    SCOPED_TRACE(row.constant);
    EXPECT_NO_THROW(row.encode_with(row.limit));
    try {
      row.encode_with(row.limit + 1);
      ADD_FAILURE() << row.constant << ": limit + 1 accepted";
    } catch (const WireError& e) {
      EXPECT_EQ(e.code(), row.over_code) << e.what();
    }
  }
}

TEST(Limits, DecoderChecksLengthBeforeReading) {
  // A 4 GiB blob length in a 12-byte payload must fail on the maximum, not on the missing bytes.
  SpecBytes s;
  s.u32(7).u32(1).u32(0xFFFFFFFFu);
  EXPECT_WIRE_ERROR(decode_control(s.bytes()), WireErrc::TOO_LONG, "command_len");
}

}  // namespace
}  // namespace echelon::wire::test
