// Register- and buffer-family layouts (protocol.md 9.1, 9.2; WIRE-20).
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

TEST(ControlLayout, ExportImportReleaseRoundTrip) {
  const ExportBufferRequest req{3, 7, 1, 64, 4096, REMOTE_BUFFER_ACCESS_READ_WRITE, "host_tcp"};
  EXPECT_EQ(decode_export_request(encode_export_request(req)), req);
  EXPECT_EQ(decode_export_result(encode_export_result(sample_export_result())), sample_export_result());
  EXPECT_EQ(decode_import_request(encode_import_request(sample_import_request())), sample_import_request());
  EXPECT_EQ(decode_import_result(encode_import_result(sample_import_result())), sample_import_result());
  const ReleaseImportRequest rel{5, 3, 7, 1, 2};
  const Bytes rel_bytes = encode_release_import(rel);
  EXPECT_EQ(rel_bytes.size(), RELEASE_IMPORT_BYTES);
  EXPECT_EQ(decode_release_import(rel_bytes), rel);
  EXPECT_NO_THROW(check_export_result(sample_export_result(), req));
  EXPECT_NO_THROW(check_import_result(sample_import_result(), sample_import_request()));
}

TEST(ControlLayout, ExportRequestLayoutMatchesSpec) {
  SpecBytes s;
  s.i32(3).u64(7).u64(1).u64(64).u64(4096).u32(3).str("host_tcp").u32(0);
  EXPECT_EQ(encode_export_request({3, 7, 1, 64, 4096, 3, "host_tcp"}), s.bytes());
}

TEST(ControlLayout, ExportResultRejectsDeadIdentity) {
  const auto with = [](auto setter) {
    ExportBufferResult e = sample_export_result();
    setter(e);
    return e;
  };
  EXPECT_WIRE_ERROR(encode_export_result(with([](auto& e) { e.owner_worker_id = -1; })), WireErrc::INVALID_VALUE,
                    "owner_worker_id");
  EXPECT_WIRE_ERROR(encode_export_result(with([](auto& e) { e.buffer_id = 0; })), WireErrc::INVALID_VALUE, "buffer_id");
  EXPECT_WIRE_ERROR(encode_export_result(with([](auto& e) { e.generation = 0; })), WireErrc::INVALID_VALUE,
                    "generation");
  EXPECT_WIRE_ERROR(encode_export_result(with([](auto& e) { e.export_id = 0; })), WireErrc::INVALID_VALUE, "export_id");
  // Decode: export_id sits after owner(4) buffer(8) generation(8) space(4) offset(8) nbytes(8).
  Bytes b = encode_export_result(sample_export_result());
  b[40] = 0;
  EXPECT_WIRE_ERROR(decode_export_result(b), WireErrc::INVALID_VALUE, "export_id");
}

TEST(ControlLayout, ImportResultRejectsDeadIdentity) {
  const auto with = [](auto setter) {
    ImportBufferResult r = sample_import_result();
    setter(r);
    return r;
  };
  EXPECT_WIRE_ERROR(encode_import_result(with([](auto& r) { r.importer_worker_id = -1; })), WireErrc::INVALID_VALUE,
                    "importer_worker_id");
  EXPECT_WIRE_ERROR(encode_import_result(with([](auto& r) { r.owner_worker_id = -2; })), WireErrc::INVALID_VALUE,
                    "owner_worker_id");
  EXPECT_WIRE_ERROR(encode_import_result(with([](auto& r) { r.buffer_id = 0; })), WireErrc::INVALID_VALUE, "buffer_id");
  EXPECT_WIRE_ERROR(encode_import_result(with([](auto& r) { r.generation = 0; })), WireErrc::INVALID_VALUE,
                    "generation");
  EXPECT_WIRE_ERROR(encode_import_result(with([](auto& r) { r.import_id = 0; })), WireErrc::INVALID_VALUE, "import_id");
  Bytes b = encode_import_result(sample_import_result());
  b[24] = 0;  // import_id after importer(4) owner(4) buffer(8) generation(8)
  EXPECT_WIRE_ERROR(decode_import_result(b), WireErrc::INVALID_VALUE, "import_id");
}

TEST(ControlLayout, AccessFlagsZeroOrUnknownRejected) {
  ExportBufferRequest req{3, 7, 1, 0, 16, 0, ""};
  EXPECT_WIRE_ERROR(encode_export_request(req), WireErrc::INVALID_VALUE, "access_flags");
  req.access_flags = 0x8;
  EXPECT_WIRE_ERROR(encode_export_request(req), WireErrc::UNKNOWN_FLAGS, "access_flags");
  SpecBytes s;
  s.i32(3).u64(7).u64(1).u64(0).u64(16).u32(0x8).str("").u32(0);
  EXPECT_WIRE_ERROR(decode_export_request(s.bytes()), WireErrc::UNKNOWN_FLAGS, "access_flags");
  EXPECT_FALSE(is_valid_access(0));
  EXPECT_TRUE(is_valid_access(REMOTE_BUFFER_ACCESS_READ_WRITE));
}

TEST(ControlLayout, ReservedTrailerMustBeZero) {
  const std::vector<std::pair<const char*, Bytes>> encodings = {
      {"ExportBufferRequestWire.reserved", encode_export_request({3, 7, 1, 0, 16, 1, ""})},
      {"ExportBufferResultWire.reserved", encode_export_result(sample_export_result())},
      {"ImportBufferRequestWire.reserved", encode_import_request(sample_import_request())},
      {"ImportBufferResultWire.reserved", encode_import_result(sample_import_result())},
      {"ReleaseImportRequestWire.reserved", encode_release_import({5, 3, 7, 1, 2})},
      {"CopyRmaRequestWire.reserved", encode_copy_rma_request({3, 7, 1, 0, 8, 0x1000, {1}})},
      {"RemoteChipCallablePayloadWire.reserved", encode_chip_payload(sample_chip_payload())},
  };
  for (const auto& [field, bytes] : encodings) {
    Bytes b = bytes;
    b.back() = 1;
    try {
      if (std::string(field).starts_with("ExportBufferRequest")) decode_export_request(b);
      else if (std::string(field).starts_with("ExportBufferResult")) decode_export_result(b);
      else if (std::string(field).starts_with("ImportBufferRequest")) decode_import_request(b);
      else if (std::string(field).starts_with("ImportBufferResult")) decode_import_result(b);
      else if (std::string(field).starts_with("Release")) decode_release_import(b);
      else if (std::string(field).starts_with("CopyRma")) decode_copy_rma_request(b);
      else decode_chip_payload(b);
      ADD_FAILURE() << field << " accepted a non-zero reserved field";
    } catch (const WireError& e) {
      EXPECT_EQ(e.code(), WireErrc::RESERVED_NONZERO) << e.what();
      EXPECT_EQ(e.field(), field);
    }
  }
}

TEST(ControlLayout, ImportAccessMustBeSubsetOfExport) {
  ImportBufferRequest r = sample_import_request();
  r.export_desc.access_flags = REMOTE_BUFFER_ACCESS_READ;
  r.requested_access_flags = REMOTE_BUFFER_ACCESS_READ_WRITE;
  EXPECT_WIRE_ERROR(encode_import_request(r), WireErrc::INVALID_VALUE, "requested_access_flags");
  r.requested_access_flags = REMOTE_BUFFER_ACCESS_READ;
  EXPECT_NO_THROW(encode_import_request(r));
  // The embedded export is validated as a whole, and errors say so.
  r.export_desc.export_id = 0;
  EXPECT_WIRE_ERROR(encode_import_request(r), WireErrc::INVALID_VALUE, "ImportBufferRequestWire.export_desc.");
}

TEST(ControlLayout, ExportResultRejectsDeviceSpace) {
  for (auto space : {RemoteAddressSpace::REMOTE_DEVICE, RemoteAddressSpace::HOST_INLINE}) {
    ExportBufferResult e = sample_export_result();
    e.address_space = space;
    EXPECT_WIRE_ERROR(encode_export_result(e), WireErrc::INVALID_VALUE, "address_space");
    ImportBufferResult i = sample_import_result();
    i.address_space = space;
    EXPECT_WIRE_ERROR(encode_import_result(i), WireErrc::INVALID_VALUE, "address_space");
  }
  ExportBufferResult ub = sample_export_result();
  ub.address_space = RemoteAddressSpace::UB_LDST;
  EXPECT_EQ(decode_export_result(encode_export_result(ub)), ub);
}

TEST(ControlLayout, RegisterCommandRoundTripsPythonImport) {
  RegisterCallableCommand c{RemoteRegistryTarget::REMOTE_TASK_DISPATCHER, CallableKind::PYTHON_IMPORT, digest_of(5), 1,
                            {}};
  const std::string text = "pkg.module:run_task";
  c.payload.assign(text.begin(), text.end());
  const Bytes b = encode_register_command(c);
  SpecBytes s;
  s.u32(1).u32(3).raw(digest_of(5)).u32(1).str(text);
  EXPECT_EQ(b, s.bytes());
  EXPECT_EQ(decode_register_command(b), c);
  c.payload.assign(MAX_STRING_BYTES + 1, 'm');
  EXPECT_WIRE_ERROR(encode_register_command(c), WireErrc::TOO_LONG, "payload");
}

TEST(ControlLayout, RegisterCommandRejectsBadHead) {
  RegisterCallableCommand c{RemoteRegistryTarget::INNER_L3_WORKER, CallableKind::CHIP_CALLABLE, digest_of(5), 0,
                            encode_chip_payload(sample_chip_payload())};
  EXPECT_WIRE_ERROR(encode_register_command(c), WireErrc::INVALID_VALUE, "payload_version");
  c.payload_version = 1;
  c.kind = CallableKind::NATIVE_INPROC;
  EXPECT_WIRE_ERROR(encode_register_command(c), WireErrc::UNKNOWN_ENUM, "callable_kind");
  SpecBytes bad_target;
  bad_target.u32(3).u32(1).raw(digest_of(5));
  EXPECT_WIRE_ERROR(decode_digest_command(bad_target.bytes()), WireErrc::UNKNOWN_ENUM, "target_registry");
  SpecBytes bad_kind;
  bad_kind.u32(1).u32(5).raw(digest_of(5));
  EXPECT_WIRE_ERROR(decode_digest_command(bad_kind.bytes()), WireErrc::UNKNOWN_ENUM, "callable_kind");
}

TEST(ControlLayout, DigestCommandIsExactly40Bytes) {
  const DigestCallableCommand c{RemoteRegistryTarget::REMOTE_TASK_DISPATCHER, CallableKind::NATIVE_IMPORT, digest_of(9)};
  Bytes b = encode_digest_command(c);
  ASSERT_EQ(b.size(), DIGEST_COMMAND_BYTES);
  EXPECT_EQ(decode_digest_command(b), c);
  b.push_back(0);
  EXPECT_WIRE_ERROR(decode_digest_command(b), WireErrc::WRONG_SIZE, "DigestCallableCommand");
  b.resize(39);
  EXPECT_WIRE_ERROR(decode_digest_command(b), WireErrc::WRONG_SIZE, "DigestCallableCommand");
}

TEST(ControlLayout, ChipPayloadInlineStagedConsistency) {
  ChipCallablePayload p = sample_chip_payload();
  EXPECT_EQ(decode_chip_payload(encode_chip_payload(p)), p);
  p.blob_size += 1;
  EXPECT_WIRE_ERROR(encode_chip_payload(p), WireErrc::INVALID_VALUE, "inline_blob");
  p = sample_chip_payload();
  p.staged_blob_token = {1};
  EXPECT_WIRE_ERROR(encode_chip_payload(p), WireErrc::INVALID_VALUE, "staged_blob_token");
  p = sample_chip_payload();
  p.blob_location = BlobLocation::STAGED_BLOB;
  EXPECT_WIRE_ERROR(encode_chip_payload(p), WireErrc::INVALID_VALUE, "inline_blob");
  p.inline_blob.clear();
  EXPECT_WIRE_ERROR(encode_chip_payload(p), WireErrc::INVALID_VALUE, "staged_blob_token");
  p.staged_blob_token = {'t', 'o', 'k'};
  EXPECT_EQ(decode_chip_payload(encode_chip_payload(p)), p);
  p.blob_size = 0;
  EXPECT_WIRE_ERROR(encode_chip_payload(p), WireErrc::INVALID_VALUE, "blob_size");
  // An unknown blob location on decode.
  Bytes b = encode_chip_payload(sample_chip_payload());
  b[4 + sample_chip_payload().descriptor.size()] = 3;
  EXPECT_WIRE_ERROR(decode_chip_payload(b), WireErrc::UNKNOWN_ENUM, "blob_location");
  // Inside a register command the error names where it sits.
  RegisterCallableCommand c{RemoteRegistryTarget::INNER_L3_WORKER, CallableKind::CHIP_CALLABLE, digest_of(1), 1, b};
  EXPECT_WIRE_ERROR(encode_register_command(c), WireErrc::UNKNOWN_ENUM, "RegisterCallableCommand.payload.");
}

TEST(ControlLayout, AllocResultShapeChecked) {
  const AllocResult good{3, 7, 1, RemoteAddressSpace::REMOTE_DEVICE, 4096, 0, 0, 0};
  Bytes b = encode_alloc_result(good);
  ASSERT_EQ(b.size(), ALLOC_RESULT_BYTES);
  EXPECT_EQ(decode_alloc_result(b), good);
  AllocResult bad = good;
  bad.buffer_id = 0;
  EXPECT_WIRE_ERROR(encode_alloc_result(bad), WireErrc::INVALID_VALUE, "buffer_id");
  bad = good;
  bad.generation = 0;
  EXPECT_WIRE_ERROR(encode_alloc_result(bad), WireErrc::INVALID_VALUE, "generation");
  bad = good;
  bad.address_space = RemoteAddressSpace::HOST_INLINE;
  EXPECT_WIRE_ERROR(encode_alloc_result(bad), WireErrc::INVALID_VALUE, "address_space");
  Bytes unknown_space = b;
  unknown_space[20] = 99;  // address_space after worker(4) buffer(8) generation(8)
  EXPECT_WIRE_ERROR(decode_alloc_result(unknown_space), WireErrc::UNKNOWN_ENUM, "address_space");
  EXPECT_WIRE_ERROR(check_alloc_result(good, 3, 8192), WireErrc::IDENTITY_MISMATCH, "nbytes");
  EXPECT_WIRE_ERROR(check_alloc_result(good, 4, 4096), WireErrc::IDENTITY_MISMATCH, "worker_id");
  b.push_back(0);
  EXPECT_WIRE_ERROR(decode_alloc_result(b), WireErrc::WRONG_SIZE, "AllocResultWire");
}

TEST(ControlLayout, FixedSizeRequestsChecked) {
  EXPECT_EQ(encode_alloc_request({4096}).size(), ALLOC_REQUEST_BYTES);
  EXPECT_WIRE_ERROR(decode_alloc_request(Bytes(9, 1)), WireErrc::WRONG_SIZE, "AllocRequestWire");
  EXPECT_WIRE_ERROR(decode_alloc_request(Bytes(8, 0)), WireErrc::INVALID_VALUE, "nbytes");
  EXPECT_EQ(encode_buffer_ref({3, 7, 1}).size(), BUFFER_REF_BYTES);
  EXPECT_WIRE_ERROR(decode_buffer_ref(Bytes(21, 1)), WireErrc::WRONG_SIZE, "BufferRefWire");
  EXPECT_WIRE_ERROR(decode_release_import(Bytes(35, 1)), WireErrc::WRONG_SIZE, "ReleaseImportRequestWire");
}

TEST(ControlLayout, CopyRequestsChecked) {
  const CopyRequest to{3, 7, 1, 16, 4, {1, 2, 3, 4}};
  const Bytes b = encode_copy_request(to, CopyDirection::TO_REMOTE);
  EXPECT_EQ(b.size(), COPY_REQUEST_HEAD_BYTES + 4);
  EXPECT_EQ(decode_copy_request(b, CopyDirection::TO_REMOTE), to);
  Bytes short_data = b;
  short_data.pop_back();
  EXPECT_WIRE_ERROR(decode_copy_request(short_data, CopyDirection::TO_REMOTE), WireErrc::WRONG_SIZE, "data");
  EXPECT_WIRE_ERROR(decode_copy_request(Bytes(b.begin(), b.begin() + 35), CopyDirection::TO_REMOTE),
                    WireErrc::TRUNCATED, "size");
  // COPY_FROM carries no data: exactly 36 bytes.
  EXPECT_WIRE_ERROR(decode_copy_request(b, CopyDirection::FROM_REMOTE), WireErrc::WRONG_SIZE, "data");
  const CopyRequest from{3, 7, 1, 16, 4, {}};
  EXPECT_EQ(decode_copy_request(encode_copy_request(from, CopyDirection::FROM_REMOTE), CopyDirection::FROM_REMOTE), from);
  EXPECT_WIRE_ERROR(check_copy_from_result(Bytes(3), from), WireErrc::WRONG_SIZE, "result_bytes");
  EXPECT_NO_THROW(check_copy_from_result(Bytes(4), from));
  CopyRequest overflow = from;
  overflow.offset = UINT64_MAX;
  EXPECT_WIRE_ERROR(encode_copy_request(overflow, CopyDirection::FROM_REMOTE), WireErrc::OUT_OF_RANGE, "size");
  CopyRmaRequest rma{3, 7, 1, 0, 0, 0x1000, {}};
  EXPECT_WIRE_ERROR(encode_copy_rma_request(rma), WireErrc::INVALID_VALUE, "CopyRmaRequestWire.size");
}

TEST(ControlLayout, PrepareRegisterResultMatchesKind) {
  const PrepareRegisterResult with{digest_of(3)};
  const Bytes b = encode_prepare_register_result(with);
  EXPECT_EQ(b.size(), 32u);
  EXPECT_EQ(decode_prepare_register_result(b, CallableKind::NATIVE_IMPORT), with);
  EXPECT_WIRE_ERROR(decode_prepare_register_result(b, CallableKind::PYTHON_IMPORT), WireErrc::WRONG_SIZE,
                    "resolved_library_sha256");
  EXPECT_WIRE_ERROR(decode_prepare_register_result({}, CallableKind::NATIVE_IMPORT), WireErrc::WRONG_SIZE,
                    "resolved_library_sha256");
  EXPECT_WIRE_ERROR(decode_prepare_register_result(Bytes(31)), WireErrc::WRONG_SIZE, "resolved_library_sha256");
}

TEST(ControlLayout, ResultsMustAnswerTheirRequest) {
  ExportBufferRequest req{3, 7, 1, 64, 4096, REMOTE_BUFFER_ACCESS_READ_WRITE, "host_tcp"};
  ExportBufferResult res = sample_export_result();
  res.owner_worker_id = 4;
  EXPECT_WIRE_ERROR(check_export_result(res, req), WireErrc::IDENTITY_MISMATCH, "owner_worker_id");
  ImportBufferResult imp = sample_import_result();
  imp.importer_worker_id = 6;
  EXPECT_WIRE_ERROR(check_import_result(imp, sample_import_request()), WireErrc::IDENTITY_MISMATCH,
                    "importer_worker_id");
  imp = sample_import_result();
  imp.access_flags = REMOTE_BUFFER_ACCESS_READ_WRITE;
  EXPECT_WIRE_ERROR(check_import_result(imp, sample_import_request()), WireErrc::IDENTITY_MISMATCH, "access_flags");
}

}  // namespace
}  // namespace echelon::wire::test
