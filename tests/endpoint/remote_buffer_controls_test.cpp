// Typed buffer controls (src/endpoint/remote_buffer_controls.h): requests carry the exact wire
// layouts of protocol.md 9.2, and replies are validated against the request they answer. Replies
// here are made by hand, so every way a runner could answer wrongly is covered without a process.
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "echelon/errors.h"
#include "endpoint/remote_buffer_controls.h"
#include "wire/buffer_controls.h"
#include "wire/le_bytes.h"

namespace echelon {
namespace {

namespace rc = remote_controls;

ControlReply ok_reply(std::vector<uint8_t> payload) { return ControlReply{true, std::move(payload), {}, false}; }

wire::AllocResult good_alloc(int32_t worker = 2, uint64_t nbytes = 16) {
  wire::AllocResult r;
  r.worker_id = worker;
  r.buffer_id = 7;
  r.generation = 1;
  r.address_space = wire::RemoteAddressSpace::REMOTE_DEVICE;
  r.nbytes = nbytes;
  r.rkey_or_token = 0x55;
  return r;
}

// The message of the ControlError `fn` throws; fails the test when it throws nothing or another type.
template <typename Fn>
std::string control_error(Fn&& fn) {
  try {
    fn();
  } catch (const ControlError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ControlError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected ControlError, nothing was thrown";
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(RemoteBufferControls, AllocRequestIsTheWireLayout) {
  const ControlRequest req = rc::alloc(16);
  EXPECT_EQ(req.name, "ALLOC_REMOTE_BUFFER");
  EXPECT_EQ(wire::decode_alloc_request(req.payload), wire::AllocRequest{16});
  const std::string err = control_error([] { rc::alloc(0); });
  EXPECT_TRUE(contains(err, "ALLOC_REMOTE_BUFFER")) << err;
  EXPECT_TRUE(contains(err, "nbytes")) << err;
}

TEST(RemoteBufferControls, AllocResultAcceptedInFull) {
  const rc::Allocation a = rc::alloc_result(ok_reply(wire::encode_alloc_result(good_alloc())), 2, 16);
  EXPECT_EQ(a.buffer_id, 7u);
  EXPECT_EQ(a.generation, 1u);
  EXPECT_EQ(a.nbytes, 16u);
  EXPECT_EQ(a.remote_addr, 0u);
  EXPECT_EQ(a.rkey_or_token, 0x55u);
}

TEST(RemoteBufferControls, AllocResultWrongSizeRejected) {
  std::vector<uint8_t> bytes = wire::encode_alloc_result(good_alloc());
  bytes.pop_back();
  std::string err = control_error([&] { rc::alloc_result(ok_reply(bytes), 2, 16); });
  EXPECT_TRUE(contains(err, "ALLOC_REMOTE_BUFFER reply")) << err;
  bytes.push_back(0);
  bytes.push_back(0);  // one byte too many
  err = control_error([&] { rc::alloc_result(ok_reply(bytes), 2, 16); });
  EXPECT_TRUE(contains(err, "ALLOC_REMOTE_BUFFER reply")) << err;
}

TEST(RemoteBufferControls, AllocResultOtherOwnerOrSizeRejected) {
  std::string err = control_error([] { rc::alloc_result(ok_reply(wire::encode_alloc_result(good_alloc(3))), 2, 16); });
  EXPECT_TRUE(contains(err, "worker_id")) << err;
  err = control_error([] { rc::alloc_result(ok_reply(wire::encode_alloc_result(good_alloc(2, 32))), 2, 16); });
  EXPECT_TRUE(contains(err, "nbytes")) << err;
}

TEST(RemoteBufferControls, AllocResultDeadIdentityRejected) {
  // The encoder refuses these, so patch valid bytes: buffer_id at offset 4, generation at 12.
  std::vector<uint8_t> zero_buffer = wire::encode_alloc_result(good_alloc());
  wire::store_le(zero_buffer.data() + 4, uint64_t{0});
  std::string err = control_error([&] { rc::alloc_result(ok_reply(zero_buffer), 2, 16); });
  EXPECT_TRUE(contains(err, "buffer_id")) << err;
  std::vector<uint8_t> zero_generation = wire::encode_alloc_result(good_alloc());
  wire::store_le(zero_generation.data() + 12, uint64_t{0});
  err = control_error([&] { rc::alloc_result(ok_reply(zero_generation), 2, 16); });
  EXPECT_TRUE(contains(err, "generation")) << err;
  std::vector<uint8_t> inline_space = wire::encode_alloc_result(good_alloc());
  wire::store_le(inline_space.data() + 20, uint32_t{1});  // HOST_INLINE is never an allocation
  err = control_error([&] { rc::alloc_result(ok_reply(inline_space), 2, 16); });
  EXPECT_TRUE(contains(err, "address_space")) << err;
}

TEST(RemoteBufferControls, AllocResultGenerationBeyondPlaceholderRejected) {
  wire::AllocResult r = good_alloc();
  r.generation = uint64_t{1} << 32;  // a TensorWire generation is 32 bits (protocol.md 6.3)
  const std::string err = control_error([&] { rc::alloc_result(ok_reply(wire::encode_alloc_result(r)), 2, 16); });
  EXPECT_TRUE(contains(err, "32-bit")) << err;
}

TEST(RemoteBufferControls, ErrorReplyThrowsWithRunnerText) {
  const ControlReply failed{false, {}, "remote worker 2 at 127.0.0.1:1: ALLOC_REMOTE_BUFFER answered FAILED: no memory",
                            false};
  std::string err = control_error([&] { rc::alloc_result(failed, 2, 16); });
  EXPECT_TRUE(contains(err, "ALLOC_REMOTE_BUFFER failed")) << err;
  EXPECT_TRUE(contains(err, "no memory")) << err;
  err = control_error([&] { rc::free_result(failed); });
  EXPECT_TRUE(contains(err, "FREE_REMOTE_BUFFER failed")) << err;
  err = control_error([&] { rc::copy_to_result(failed); });
  EXPECT_TRUE(contains(err, "COPY_TO_REMOTE failed")) << err;
  std::vector<std::byte> dst(4);
  err = control_error([&] { rc::copy_from_result(failed, dst); });
  EXPECT_TRUE(contains(err, "COPY_FROM_REMOTE failed")) << err;
  const ControlReply uncertain{false, {}, "lane broke", true};
  err = control_error([&] { rc::free_result(uncertain); });
  EXPECT_TRUE(contains(err, "effect uncertain")) << err;
}

TEST(RemoteBufferControls, FreeRequestAndEmptyResult) {
  const ControlRequest req = rc::free_buffer(2, 7, 1);
  EXPECT_EQ(req.name, "FREE_REMOTE_BUFFER");
  EXPECT_EQ(wire::decode_buffer_ref(req.payload), (wire::BufferRef{2, 7, 1}));
  EXPECT_NO_THROW(rc::free_result(ok_reply({})));
  const std::string err = control_error([] { rc::free_result(ok_reply({1})); });
  EXPECT_TRUE(contains(err, "must be empty")) << err;
}

TEST(RemoteBufferControls, DeadBufferIdsRefusedBeforeSending) {
  std::string err = control_error([] { rc::free_buffer(2, 0, 1); });
  EXPECT_TRUE(contains(err, "FREE_REMOTE_BUFFER request")) << err;
  err = control_error([] { rc::free_buffer(2, 7, 0); });
  EXPECT_TRUE(contains(err, "generation")) << err;
  err = control_error([] { rc::free_buffer(-1, 7, 1); });
  EXPECT_TRUE(contains(err, "worker")) << err;
  const std::byte one[1] = {std::byte{1}};
  err = control_error([&] { rc::copy_to(2, 0, 1, 0, one); });
  EXPECT_TRUE(contains(err, "COPY_TO_REMOTE request")) << err;
  err = control_error([] { rc::copy_from(2, 7, 0, 0, 4); });
  EXPECT_TRUE(contains(err, "COPY_FROM_REMOTE request")) << err;
}

TEST(RemoteBufferControls, CopyToCarriesHeadAndData) {
  std::vector<std::byte> data;
  for (int i = 1; i <= 16; ++i) data.push_back(static_cast<std::byte>(i));
  const ControlRequest req = rc::copy_to(2, 7, 1, 8, data);
  EXPECT_EQ(req.name, "COPY_TO_REMOTE");
  EXPECT_EQ(req.payload.size(), 36u + 16u);
  const wire::CopyRequest decoded = wire::decode_copy_request(req.payload, wire::CopyDirection::TO_REMOTE);
  EXPECT_EQ(decoded.worker_id, 2);
  EXPECT_EQ(decoded.buffer_id, 7u);
  EXPECT_EQ(decoded.generation, 1u);
  EXPECT_EQ(decoded.offset, 8u);
  EXPECT_EQ(decoded.size, 16u);
  ASSERT_EQ(decoded.data.size(), 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(decoded.data[i], i + 1);
  EXPECT_NO_THROW(rc::copy_to_result(ok_reply({})));
  const std::string err = control_error([] { rc::copy_to_result(ok_reply({0, 0})); });
  EXPECT_TRUE(contains(err, "must be empty")) << err;
}

TEST(RemoteBufferControls, CopyChunkBoundIsOneFrame) {
  // 16 MiB of frame payload minus the CONTROL envelope (12 bytes) and the copy head (36 bytes).
  EXPECT_EQ(rc::max_copy_chunk_bytes(), 16u * 1024 * 1024 - 48);
  std::vector<std::byte> too_big(rc::max_copy_chunk_bytes() + 1);
  std::string err = control_error([&] { rc::copy_to(2, 7, 1, 0, too_big); });
  EXPECT_TRUE(contains(err, "exceed")) << err;
  err = control_error([] { rc::copy_from(2, 7, 1, 0, rc::max_copy_chunk_bytes() + 1); });
  EXPECT_TRUE(contains(err, "exceed")) << err;
  too_big.pop_back();
  const ControlRequest req = rc::copy_to(2, 7, 1, 0, too_big);
  EXPECT_EQ(req.payload.size() + 12, 16u * 1024 * 1024);  // exactly one full frame payload
}

TEST(RemoteBufferControls, CopyFromChecksLengthAndCopiesBytes) {
  const ControlRequest req = rc::copy_from(2, 7, 1, 4, 3);
  EXPECT_EQ(req.name, "COPY_FROM_REMOTE");
  EXPECT_EQ(req.payload.size(), 36u);
  const wire::CopyRequest decoded = wire::decode_copy_request(req.payload, wire::CopyDirection::FROM_REMOTE);
  EXPECT_EQ(decoded.offset, 4u);
  EXPECT_EQ(decoded.size, 3u);

  std::vector<std::byte> dst(3);
  rc::copy_from_result(ok_reply({9, 8, 7}), dst);
  EXPECT_EQ(dst, (std::vector<std::byte>{std::byte{9}, std::byte{8}, std::byte{7}}));
  std::string err = control_error([&] { rc::copy_from_result(ok_reply({9, 8}), dst); });
  EXPECT_TRUE(contains(err, "COPY_FROM_REMOTE reply")) << err;
  err = control_error([&] { rc::copy_from_result(ok_reply({9, 8, 7, 6}), dst); });
  EXPECT_TRUE(contains(err, "COPY_FROM_REMOTE reply")) << err;
}

}  // namespace

wire::ExportBufferResult good_export() {
  wire::ExportBufferResult r;
  r.owner_worker_id = 0;
  r.buffer_id = 7;
  r.generation = 1;
  r.address_space = wire::RemoteAddressSpace::REMOTE_WINDOW;
  r.offset = 16;
  r.nbytes = 32;
  r.export_id = 3;
  r.rkey_or_token = 3;
  r.access_flags = wire::REMOTE_BUFFER_ACCESS_READ_WRITE;
  r.transport_profile = "host_tcp";
  r.transport_descriptor = {1, 2, 3};
  return r;
}

wire::ImportBufferResult good_import(const wire::ExportBufferResult& e, int32_t importer, uint32_t access) {
  wire::ImportBufferResult r;
  r.importer_worker_id = importer;
  r.owner_worker_id = e.owner_worker_id;
  r.buffer_id = e.buffer_id;
  r.generation = e.generation;
  r.import_id = 9;
  r.offset = e.offset;
  r.nbytes = e.nbytes;
  r.rkey_or_token = 9;
  r.access_flags = access;
  r.transport_profile = e.transport_profile;
  return r;
}

TEST(RemoteBufferControls, ExportRequestAndResult) {
  const ControlRequest req = rc::export_buffer(0, 7, 1, 16, 32, wire::REMOTE_BUFFER_ACCESS_READ_WRITE);
  EXPECT_EQ(req.name, "EXPORT_BUFFER");
  const wire::ExportBufferRequest back = wire::decode_export_request(req.payload);
  EXPECT_EQ(back, (wire::ExportBufferRequest{0, 7, 1, 16, 32, wire::REMOTE_BUFFER_ACCESS_READ_WRITE, {}}));
  const rc::ExportGrant g =
      rc::export_result(ok_reply(wire::encode_export_result(good_export())), 0, 7, 1, 16, 32, 0x3);
  EXPECT_EQ(g.export_id, 3u);
  EXPECT_EQ(wire::decode_export_result(g.descriptor), good_export()) << "the descriptor is the validated result";
  auto other = good_export();
  other.offset = 0;
  std::string err = control_error([&] { rc::export_result(ok_reply(wire::encode_export_result(other)), 0, 7, 1, 16, 32, 0x3); });
  EXPECT_NE(err.find("offset"), std::string::npos) << err;
  other = good_export();
  other.access_flags = wire::REMOTE_BUFFER_ACCESS_READ;
  err = control_error([&] { rc::export_result(ok_reply(wire::encode_export_result(other)), 0, 7, 1, 16, 32, 0x3); });
  EXPECT_NE(err.find("granted access"), std::string::npos) << err;
  EXPECT_THROW(rc::export_buffer(0, 7, 1, 0, 0, 0x3), ControlError) << "an empty range is refused before sending";
}

TEST(RemoteBufferControls, ImportRequestCarriesTheExportAndResultIsChecked) {
  const std::vector<uint8_t> desc = wire::encode_export_result(good_export());
  const ControlRequest req = rc::import_buffer(1, wire::REMOTE_BUFFER_ACCESS_READ, desc);
  EXPECT_EQ(req.name, "IMPORT_BUFFER");
  const wire::ImportBufferRequest back = wire::decode_import_request(req.payload);
  EXPECT_EQ(back.importer_worker_id, 1);
  EXPECT_EQ(back.export_desc, good_export());
  const auto good = good_import(good_export(), 1, wire::REMOTE_BUFFER_ACCESS_READ);
  const rc::ImportGrant g = rc::import_result(ok_reply(wire::encode_import_result(good)), 1, 0x1, desc);
  EXPECT_EQ(g.import_id, 9u);
  EXPECT_EQ(g.rkey_or_token, 9u);
  auto wrong = good;
  wrong.importer_worker_id = 2;
  std::string err = control_error([&] { rc::import_result(ok_reply(wire::encode_import_result(wrong)), 1, 0x1, desc); });
  EXPECT_NE(err.find("importer"), std::string::npos) << err;
  EXPECT_EQ(rc::import_id_of(ok_reply(wire::encode_import_result(wrong))), std::optional<uint64_t>(9));
  wrong = good;
  wrong.access_flags = wire::REMOTE_BUFFER_ACCESS_READ_WRITE;
  err = control_error([&] { rc::import_result(ok_reply(wire::encode_import_result(wrong)), 1, 0x1, desc); });
  EXPECT_NE(err.find("granted access"), std::string::npos) << err;
  EXPECT_EQ(rc::import_id_of(ControlReply{false, {}, "REJECTED", false}), std::nullopt);
  EXPECT_THROW(rc::import_buffer(1, wire::REMOTE_BUFFER_ACCESS_READ, std::vector<uint8_t>{1, 2}), ControlError);
}

TEST(RemoteBufferControls, CrossHostImportRefusalNamesTheRmaProfile) {
  const std::vector<uint8_t> desc = wire::encode_export_result(good_export());
  const ControlReply refused{false, {}, "IMPORT_BUFFER answered UNSUPPORTED: host_tcp peer import needs owner and "
                                        "importer on the same host", false};
  const std::string err = control_error([&] { rc::import_result(refused, 1, 0x1, desc); });
  EXPECT_NE(err.find("needs an RMA-capable profile (ucx)"), std::string::npos) << err;
  EXPECT_NE(err.find("buffer 7 of worker 0"), std::string::npos) << err;
  EXPECT_NE(err.find("into worker 1"), std::string::npos) << err;
  // Any other refusal keeps the runner's text as it is.
  const std::string other = control_error([&] {
    rc::import_result(ControlReply{false, {}, "IMPORT_BUFFER answered NOT_FOUND: gone", false}, 1, 0x1, desc);
  });
  EXPECT_EQ(other.find("RMA-capable"), std::string::npos) << other;
  EXPECT_NE(other.find("NOT_FOUND: gone"), std::string::npos) << other;
}

TEST(RemoteBufferControls, ReleaseImportRequestAndEmptyResult) {
  const ControlRequest req = rc::release_import(1, 0, 7, 1, 9);
  EXPECT_EQ(req.name, "RELEASE_IMPORT");
  EXPECT_EQ(wire::decode_release_import(req.payload), (wire::ReleaseImportRequest{1, 0, 7, 1, 9}));
  rc::release_import_result(ok_reply({}));
  EXPECT_THROW(rc::release_import_result(ok_reply({1})), ControlError);
  EXPECT_THROW(rc::release_import(1, 0, 7, 1, 0), ControlError) << "import id 0 is refused before sending";
}

}  // namespace echelon
