// protocol.md section 14, one row per numbered rejection the codec owns (WIRE-30). Rows 28, 30
// and 39 judge live runner state (handles, registries) and belong to the runner's own table.
#include <set>

#include "wire/command_lane.h"
#include "wire/control_catalogue.h"
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

struct Row {
  int item;
  const char* what;
  std::function<void()> run;
  WireErrc code;
  const char* field;
};

Bytes header(uint32_t type, uint32_t payload, uint32_t flags = 0, uint32_t version = 1) {
  return spec_header(type, 1, 0, 1, payload, flags, version);
}

Bytes task_with(std::function<void(TaskPayload&)> edit) {
  TaskPayload t = sample_task();
  edit(t);
  return encode_task(t);
}

// A TASK whose single tensor record has been patched after encoding (to reach the decoder).
Bytes patched_task(size_t offset_in_tensor, uint8_t value) {
  const TaskPayload t = make_task(1, 0, 0);
  Bytes b = encode_task(t);
  b[32 + 24 + 4 + 8 + offset_in_tensor] = value;
  return b;
}

TEST(Rejections, EveryListedCaseIsRejected) {
  const std::vector<Row> rows = {
      {1, "truncated header", [] { decode_frame(Bytes(39, 0x53)); }, WireErrc::TRUNCATED, "FrameHeader"},
      {2, "bad magic", [] { Bytes b = header(2, 0); b[0] = 0; decode_frame(b); }, WireErrc::BAD_MAGIC, "magic"},
      {3, "version 2", [] { decode_frame(header(2, 0, 0, 2)); }, WireErrc::BAD_VERSION, "version"},
      {4, "frame type 0", [] { decode_frame(header(0, 0)); }, WireErrc::UNKNOWN_FRAME_TYPE, "frame_type"},
      {4, "frame type 8", [] { decode_frame(header(8, 0)); }, WireErrc::UNKNOWN_FRAME_TYPE, "frame_type"},
      {5, "reserved flag bit", [] { decode_frame(header(2, 0, 0x2)); }, WireErrc::UNKNOWN_FLAGS, "flags"},
      {6, "payload above maximum", [] { decode_frame_header(header(2, MAX_FRAME_PAYLOAD_BYTES + 1)); },
       WireErrc::PAYLOAD_TOO_LARGE, "payload_bytes"},
      {6, "payload above negotiated maximum", [] { decode_frame_header(header(2, 65), 64); },
       WireErrc::PAYLOAD_TOO_LARGE, "payload_bytes"},
      {7, "fewer payload bytes", [] { decode_frame(concat(header(2, 4), Bytes(3))); }, WireErrc::LENGTH_MISMATCH,
       "payload_bytes"},
      {7, "more payload bytes", [] { decode_frame(concat(header(2, 4), Bytes(5))); }, WireErrc::LENGTH_MISMATCH,
       "payload_bytes"},
      {8, "SHUTDOWN with payload", [] { decode_frame(concat(header(7, 1), Bytes(1))); }, WireErrc::UNEXPECTED_PAYLOAD,
       "payload_bytes"},
      {8, "HEALTH with payload", [] { decode_frame(concat(header(6, 4), Bytes(4))); }, WireErrc::UNEXPECTED_PAYLOAD,
       "payload_bytes"},
      {9, "HELLO session differs from header",
       [] {
         FrameHeader h;
         h.session_id = 77;
         check_hello_matches_header(sample_hello(false), h);
       },
       WireErrc::IDENTITY_MISMATCH, "HELLO.session_id"},
      {10, "COMPLETION where CONTROL_REPLY awaited",
       [] {
         const Bytes f = encode_frame(FrameType::COMPLETION, {1, 0, 4, 0}, encode_completion({4, 0, ""}));
         decode_control_reply(decode_frame(f), {4, ControlName::ALLOC_REMOTE_BUFFER, 1});
       },
       WireErrc::INVALID_VALUE, "frame_type"},
      {11, "request sequence gap", [] { InboundSequence s; s.accept(2); }, WireErrc::SEQUENCE_MISMATCH, "sequence"},
      {11, "reply for another sequence",
       [] {
         CommandLane lane;
         lane.begin_task();
         const Bytes f = encode_frame(FrameType::COMPLETION, {1, 0, 9, 0}, encode_completion({9, 0, ""}));
         lane.accept_completion(decode_frame(f));
       },
       WireErrc::SEQUENCE_MISMATCH, "sequence"},
      {12, "truncated field", [] { decode_completion(Bytes(11)); }, WireErrc::TRUNCATED, "error_code"},
      {12, "trailing bytes", [] { decode_completion(concat(encode_completion({1, 0, ""}), Bytes(1))); },
       WireErrc::TRAILING_BYTES, "COMPLETION"},
      {13, "string over maximum", [] { decode_completion(SpecBytes{}.u64(1).i32(1).u32(4097).bytes()); },
       WireErrc::TOO_LONG, "error_message"},
      {13, "text not UTF-8", [] { decode_completion(SpecBytes{}.u64(1).i32(1).u32(1).u8(0xC0).bytes()); },
       WireErrc::INVALID_UTF8, "error_message"},
      {14, "tensor_count 257", [] { encode_task(make_task(257, 0, 0)); }, WireErrc::COUNT_TOO_LARGE, "tensor_count"},
      {14, "scalar_count 129", [] { encode_task(make_task(0, 129, 0)); }, WireErrc::COUNT_TOO_LARGE, "scalar_count"},
      {14, "scalar_count x 8 beyond payload",
       [] {
         Bytes b = encode_task(make_task(0, 0, 0));
         b[32 + 24 + 4 + 4] = 100;
         decode_task(b);
       },
       WireErrc::COUNT_EXCEEDS_PAYLOAD, "scalar_count"},
      {15, "ready_state 2", [] { Bytes b = encode_hello(sample_hello(false)); b[b.size() - 4] = 2; decode_hello(b); },
       WireErrc::UNKNOWN_ENUM, "ready_state"},
      {15, "RemoteAddressSpace 5",
       [] { task_with([](TaskPayload& t) { t.args.remote_desc[0]->address_space = static_cast<RemoteAddressSpace>(5); }); },
       WireErrc::UNKNOWN_ENUM, "address_space"},
      {15, "AddressSpace 2", [] { decode_task(patched_task(20, 2)); }, WireErrc::UNKNOWN_ENUM, "TensorWire.address_space"},
      {15, "AccessMode 3", [] { decode_task(patched_task(21, 3)); }, WireErrc::UNKNOWN_ENUM, "TensorWire.access"},
      {15, "BackendKind 6", [] { decode_task(patched_task(22, 6)); }, WireErrc::UNKNOWN_ENUM, "backend_kind"},
      {15, "DataType 15", [] { decode_task(patched_task(67, 15)); }, WireErrc::UNKNOWN_ENUM, "dtype"},
      {15, "ControlName 18", [] { decode_control(SpecBytes{}.u32(18).u32(1).u32(0).bytes()); }, WireErrc::UNKNOWN_ENUM,
       "control_name"},
      {15, "RemoteRegistryTarget 0", [] { decode_digest_command(SpecBytes{}.u32(0).u32(4).fill(0, 32).bytes()); },
       WireErrc::UNKNOWN_ENUM, "target_registry"},
      {15, "CallableKind 5", [] { decode_digest_command(SpecBytes{}.u32(1).u32(5).fill(0, 32).bytes()); },
       WireErrc::UNKNOWN_ENUM, "callable_kind"},
      {15, "blob_location 3",
       [] {
         Bytes b = encode_chip_payload(sample_chip_payload());
         b[4 + sample_chip_payload().descriptor.size()] = 3;
         decode_chip_payload(b);
       },
       WireErrc::UNKNOWN_ENUM, "blob_location"},
      {16, "presence byte 2",
       [] {
         Bytes b = encode_task(make_task(1, 0, 0));
         b[32 + 24 + 4 + 8 + 71] = 2;
         decode_task(b);
       },
       WireErrc::BAD_BOOL, "present"},
      {17, "reserved u32 set", [] { Bytes b = encode_release_import({5, 3, 7, 1, 2}); b[35] = 1; decode_release_import(b); },
       WireErrc::RESERVED_NONZERO, "reserved"},
      {17, "descriptor flags set", [] { task_with([](TaskPayload& t) { t.args.remote_desc[0]->flags = 2; }); },
       WireErrc::RESERVED_NONZERO, "flags"},
      {18, "offset + n overflows", [] { encode_copy_request({3, 7, 1, UINT64_MAX, 2, {}}, CopyDirection::FROM_REMOTE); },
       WireErrc::OUT_OF_RANGE, "size"},
      {19, "HELLO session 0", [] { HelloPayload h = sample_hello(false); h.session_id = 0; encode_hello(h); },
       WireErrc::INVALID_VALUE, "session_id"},
      {19, "HELLO worker -1", [] { HelloPayload h = sample_hello(false); h.worker_id = -1; encode_hello(h); },
       WireErrc::INVALID_VALUE, "worker_id"},
      {19, "HELLO version 2", [] { HelloPayload h = sample_hello(false); h.protocol_version = 2; encode_hello(h); },
       WireErrc::BAD_VERSION, "protocol_version"},
      {19, "comm_profile 1025 bytes",
       [] { HelloPayload h = sample_hello(false); h.comm_profile.assign(1025, 'x'); encode_hello(h); },
       WireErrc::TOO_LONG, "comm_profile"},
      {20, "unknown feature bit", [] { HelloPayload h = sample_hello(true); h.feature_flags |= 1ull << 40; encode_hello(h); },
       WireErrc::UNKNOWN_FLAGS, "feature_flags"},
      {20, "malformed extension", [] { HelloPayload h = sample_hello(true); h.ext->max_tasks_in_flight = 0; encode_hello(h); },
       WireErrc::INVALID_VALUE, "max_tasks_in_flight"},
      {21, "inline arena above 1 MiB", [] { encode_task(make_task(0, 0, MAX_INLINE_PAYLOAD_BYTES + 1)); },
       WireErrc::TOO_LONG, "inline_payload_bytes_len"},
      {22, "diagnostics without prefix",
       [] { task_with([](TaskPayload& t) { t.config.set_prefix(""); }); }, WireErrc::INVALID_VALUE, "CallConfigWire"},
      {23, "local backing", [] { decode_task(patched_task(22, 1)); }, WireErrc::LOCAL_BACKING, "backend_kind"},
      {23, "non-zero byte_offset", [] { decode_task(patched_task(39, 4)); }, WireErrc::BYTE_OFFSET, "byte_offset"},
      {24, "ndims 0", [] { decode_task(patched_task(47, 0)); }, WireErrc::INVALID_VALUE, "ndims"},
      {24, "zero shape", [] { decode_task(patched_task(51, 0)); }, WireErrc::INVALID_VALUE, "shapes"},
      {24, "zero stride", [] { decode_task(patched_task(59, 0)); }, WireErrc::INVALID_VALUE, "strides"},
      {24, "body_len above 32", [] { decode_task(patched_task(35, 33)); }, WireErrc::TOO_LONG, "body_len"},
      {24, "generation 0", [] { decode_task(patched_task(16, 0)); }, WireErrc::INVALID_VALUE, "TensorWire.generation"},
      {24, "extent past nbytes", [] { decode_task(patched_task(24, 0)); }, WireErrc::OUT_OF_RANGE, "TensorWire.nbytes"},
      {25, "offset + nbytes overflows",
       [] { task_with([](TaskPayload& t) { t.args.remote_desc[0]->offset = UINT64_MAX - 8; }); }, WireErrc::OUT_OF_RANGE,
       "RemoteTensorDescWire.nbytes"},
      {26, "inline range outside arena",
       [] { task_with([](TaskPayload& t) { t.args.remote_desc[2]->inline_payload_offset = 40; }); },
       WireErrc::OUT_OF_RANGE, "inline_payload_offset"},
      {26, "inline with a buffer id", [] { task_with([](TaskPayload& t) { t.args.remote_desc[2]->buffer_id = 1; }); },
       WireErrc::INVALID_VALUE, "buffer_id"},
      {27, "device descriptor with inline length",
       [] { task_with([](TaskPayload& t) { t.args.remote_desc[0]->inline_payload_len = 1; }); }, WireErrc::INVALID_VALUE,
       "inline_payload_len"},
      {27, "device descriptor with buffer 0", [] { task_with([](TaskPayload& t) { t.args.remote_desc[0]->buffer_id = 0; }); },
       WireErrc::INVALID_VALUE, "buffer_id"},
      {29, "stale generation against the placeholder",
       [] { task_with([](TaskPayload& t) { t.args.remote_desc[1]->generation = 5; }); }, WireErrc::STALE_GENERATION,
       "generation"},
      {29, "descriptor nbytes differs from placeholder",
       [] { task_with([](TaskPayload& t) { t.args.remote_desc[1]->nbytes = 8; }); }, WireErrc::IDENTITY_MISMATCH,
       "nbytes"},
      {31, "completion sequence mismatch",
       [] {
         const Bytes f = encode_frame(FrameType::COMPLETION, {1, 0, 3, 0}, encode_completion({4, 0, ""}));
         decode_completion(decode_frame(f), 3);
       },
       WireErrc::SEQUENCE_MISMATCH, "CompletionPayload.sequence"},
      {32, "reply control_name mismatch",
       [] {
         const Bytes f = encode_frame(FrameType::CONTROL_REPLY, {1, 0, 3, 0},
                                      encode_control_reply({3, ControlName::FREE_REMOTE_BUFFER, 1, 0, "", {}}));
         decode_control_reply(decode_frame(f), {3, ControlName::ALLOC_REMOTE_BUFFER, 1});
       },
       WireErrc::CONTROL_MISMATCH, "control_name"},
      {33, "reply result past the end",
       [] { decode_control_reply(SpecBytes{}.u64(1).u32(7).u32(1).i32(0).u32(0).u32(8).bytes()); }, WireErrc::TRUNCATED,
       "result_len"},
      {34, "control version 0", [] { decode_control(SpecBytes{}.u32(7).u32(0).u32(0).bytes()); }, WireErrc::INVALID_VALUE,
       "control_version"},
      {34, "unimplemented version", [] { decode_control_command(ControlName::ALLOC_REMOTE_BUFFER, 9, Bytes(8, 1)); },
       WireErrc::UNSUPPORTED, "control_version"},
      {35, "command_len past the end", [] { decode_control(SpecBytes{}.u32(7).u32(1).u32(20).fill(0, 4).bytes()); },
       WireErrc::TRUNCATED, "command_len"},
      {36, "payload_version 0",
       [] {
         decode_register_command(SpecBytes{}.u32(1).u32(4).fill(1, 32).u32(0).u32(3).ascii("a:b").bytes());
       },
       WireErrc::INVALID_VALUE, "payload_version"},
      {36, "digest command of 41 bytes", [] { decode_digest_command(SpecBytes{}.u32(1).u32(4).fill(1, 33).bytes()); },
       WireErrc::WRONG_SIZE, "DigestCallableCommand"},
      {36, "chip blob_size 0",
       [] {
         ChipCallablePayload p = sample_chip_payload();
         p.blob_size = 0;
         encode_chip_payload(p);
       },
       WireErrc::INVALID_VALUE, "blob_size"},
      {37, "ALLOC request of 0 bytes", [] { decode_alloc_request(Bytes(8, 0)); }, WireErrc::INVALID_VALUE, "nbytes"},
      {37, "FREE request of 19 bytes", [] { decode_buffer_ref(Bytes(19, 1)); }, WireErrc::WRONG_SIZE, "BufferRefWire"},
      {37, "COPY_FROM carrying data",
       [] { decode_copy_request(encode_copy_request({3, 7, 1, 0, 1, {9}}, CopyDirection::TO_REMOTE), CopyDirection::FROM_REMOTE); },
       WireErrc::WRONG_SIZE, "data"},
      {37, "import access not a subset",
       [] {
         ImportBufferRequest r = sample_import_request();
         r.export_desc.access_flags = REMOTE_BUFFER_ACCESS_WRITE;
         encode_import_request(r);
       },
       WireErrc::INVALID_VALUE, "requested_access_flags"},
      {37, "import result id 0", [] { ImportBufferResult r = sample_import_result(); r.import_id = 0; encode_import_result(r); },
       WireErrc::INVALID_VALUE, "import_id"},
      {38, "ALLOC result for another worker",
       [] { check_alloc_result({4, 7, 1, RemoteAddressSpace::REMOTE_DEVICE, 64, 0, 0, 0}, 3, 64); },
       WireErrc::IDENTITY_MISMATCH, "worker_id"},
      {38, "COPY_FROM result of the wrong length", [] { check_copy_from_result(Bytes(5), {3, 7, 1, 0, 4, {}}); },
       WireErrc::WRONG_SIZE, "result_bytes"},
  };
  std::set<int> covered;
  for (const Row& row : rows) {
    SCOPED_TRACE(testing::Message() << "item " << row.item << ": " << row.what);
    EXPECT_WIRE_ERROR(row.run(), row.code, row.field);
    covered.insert(row.item);
  }
  for (int item = 1; item <= 39; ++item) {
    if (item == 28 || item == 30 || item == 39) continue;  // live runner state, not codec
    EXPECT_TRUE(covered.count(item)) << "section 14 item " << item << " has no row";
  }
}

}  // namespace
}  // namespace echelon::wire::test
