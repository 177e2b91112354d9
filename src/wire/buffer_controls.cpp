#include "wire/buffer_controls.h"

#include "fmt/format.h"
#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/enum_field.h"
#include "wire/field_rules.h"
#include "wire/limits.h"
#include "wire/wire_error.h"

namespace echelon::wire {

bool is_valid_access(uint32_t flags) { return flags != 0 && (flags & ~REMOTE_BUFFER_ACCESS_READ_WRITE) == 0; }

namespace {

void require_access(uint32_t flags, const char* field) {
  if (flags == 0) fail(WireErrc::INVALID_VALUE, field, "access flags are empty");
  if (flags & ~REMOTE_BUFFER_ACCESS_READ_WRITE)
    fail(WireErrc::UNKNOWN_FLAGS, field, fmt::format("access bits {:#x} are unknown", flags & ~REMOTE_BUFFER_ACCESS_READ_WRITE));
}

// Exported and imported windows are REMOTE_WINDOW (or hardware-gated UB_LDST), never an owner
// allocation or an inline slice.
void require_window_space(RemoteAddressSpace s, const char* field) {
  require_known(s, field);
  if (s != RemoteAddressSpace::REMOTE_WINDOW && s != RemoteAddressSpace::UB_LDST)
    fail(WireErrc::INVALID_VALUE, field, fmt::format("{} is not REMOTE_WINDOW or UB_LDST", to_string(s)));
}

void require_size(std::span<const uint8_t> bytes, size_t want, const char* record) {
  if (bytes.size() != want)
    fail(WireErrc::WRONG_SIZE, record, fmt::format("{} bytes, must be exactly {}", bytes.size(), want));
}

// Field names of the (worker, buffer_id, generation) triple that heads most requests.
struct HandleFields {
  const char* worker;
  const char* buffer_id;
  const char* generation;
};

void require_live_handle(int32_t worker, uint64_t buffer_id, uint64_t generation, const HandleFields& f) {
  require_non_negative(worker, f.worker);
  require_nonzero(buffer_id, f.buffer_id);
  require_nonzero(generation, f.generation);
}

template <typename Fn>
auto decode_checked(std::span<const uint8_t> bytes, const char* record, Fn&& read_fields) {
  ByteReader r(bytes, record);
  auto value = read_fields(r);
  r.expect_end();
  validate(value);
  return value;
}

template <typename T, typename Fn>
std::vector<uint8_t> encode_checked(const T& value, size_t reserve, Fn&& write_fields) {
  validate(value);
  ByteWriter w(reserve);
  write_fields(w);
  return w.take();
}

// --- ExportBufferResultWire: standalone and embedded in the import request ---------------------

void write_export_result(ByteWriter& w, const ExportBufferResult& r) {
  w.i32(r.owner_worker_id);
  w.u64(r.buffer_id);
  w.u64(r.generation);
  w.u32(static_cast<uint32_t>(r.address_space));
  w.u64(r.offset);
  w.u64(r.nbytes);
  w.u64(r.export_id);
  w.u64(r.remote_addr);
  w.u64(r.rkey_or_token);
  w.u64(r.ub_ldst_va);
  w.u32(r.access_flags);
  w.text("ExportBufferResultWire.transport_profile", r.transport_profile, MAX_TRANSPORT_PROFILE_BYTES);
  w.blob("ExportBufferResultWire.transport_descriptor", r.transport_descriptor, MAX_TRANSPORT_DESCRIPTOR_BYTES);
  w.reserved_u32();
}

ExportBufferResult read_export_result(ByteReader& r) {
  ExportBufferResult x;
  x.owner_worker_id = r.i32("ExportBufferResultWire.owner_worker_id");
  x.buffer_id = r.u64("ExportBufferResultWire.buffer_id");
  x.generation = r.u64("ExportBufferResultWire.generation");
  x.address_space = known_enum<RemoteAddressSpace>(r.u32("ExportBufferResultWire.address_space"),
                                                   "ExportBufferResultWire.address_space");
  x.offset = r.u64("ExportBufferResultWire.offset");
  x.nbytes = r.u64("ExportBufferResultWire.nbytes");
  x.export_id = r.u64("ExportBufferResultWire.export_id");
  x.remote_addr = r.u64("ExportBufferResultWire.remote_addr");
  x.rkey_or_token = r.u64("ExportBufferResultWire.rkey_or_token");
  x.ub_ldst_va = r.u64("ExportBufferResultWire.ub_ldst_va");
  x.access_flags = r.u32("ExportBufferResultWire.access_flags");
  x.transport_profile = r.text("ExportBufferResultWire.transport_profile", MAX_TRANSPORT_PROFILE_BYTES);
  const auto desc = r.blob("ExportBufferResultWire.transport_descriptor", MAX_TRANSPORT_DESCRIPTOR_BYTES);
  x.transport_descriptor.assign(desc.begin(), desc.end());
  r.reserved_u32("ExportBufferResultWire.reserved");
  return x;
}

}  // namespace

// --- ALLOC_REMOTE_BUFFER ------------------------------------------------------------------------

void validate(const AllocRequest& r) { require_nonzero(r.nbytes, "AllocRequestWire.nbytes"); }

std::vector<uint8_t> encode_alloc_request(const AllocRequest& r) {
  return encode_checked(r, ALLOC_REQUEST_BYTES, [&](ByteWriter& w) { w.u64(r.nbytes); });
}

AllocRequest decode_alloc_request(std::span<const uint8_t> bytes) {
  require_size(bytes, ALLOC_REQUEST_BYTES, "AllocRequestWire");
  return decode_checked(bytes, "AllocRequestWire", [](ByteReader& r) { return AllocRequest{r.u64("AllocRequestWire.nbytes")}; });
}

void validate(const AllocResult& r) {
  require_live_handle(r.worker_id, r.buffer_id, r.generation,
                      {"AllocResultWire.worker_id", "AllocResultWire.buffer_id", "AllocResultWire.generation"});
  require_known(r.address_space, "AllocResultWire.address_space");
  if (r.address_space != RemoteAddressSpace::REMOTE_DEVICE)
    fail(WireErrc::INVALID_VALUE, "AllocResultWire.address_space",
         fmt::format("{} is not REMOTE_DEVICE", to_string(r.address_space)));
  require_nonzero(r.nbytes, "AllocResultWire.nbytes");
}

std::vector<uint8_t> encode_alloc_result(const AllocResult& r) {
  return encode_checked(r, ALLOC_RESULT_BYTES, [&](ByteWriter& w) {
    w.i32(r.worker_id);
    w.u64(r.buffer_id);
    w.u64(r.generation);
    w.i32(static_cast<int32_t>(r.address_space));
    w.u64(r.nbytes);
    w.u64(r.remote_addr);
    w.u64(r.rkey_or_token);
    w.u64(r.ub_ldst_va);
  });
}

AllocResult decode_alloc_result(std::span<const uint8_t> bytes) {
  require_size(bytes, ALLOC_RESULT_BYTES, "AllocResultWire");
  return decode_checked(bytes, "AllocResultWire", [](ByteReader& r) {
    AllocResult x;
    x.worker_id = r.i32("AllocResultWire.worker_id");
    x.buffer_id = r.u64("AllocResultWire.buffer_id");
    x.generation = r.u64("AllocResultWire.generation");
    x.address_space = known_enum<RemoteAddressSpace>(r.i32("AllocResultWire.address_space"), "AllocResultWire.address_space");
    x.nbytes = r.u64("AllocResultWire.nbytes");
    x.remote_addr = r.u64("AllocResultWire.remote_addr");
    x.rkey_or_token = r.u64("AllocResultWire.rkey_or_token");
    x.ub_ldst_va = r.u64("AllocResultWire.ub_ldst_va");
    return x;
  });
}

void check_alloc_result(const AllocResult& result, int32_t worker_id, uint64_t requested_nbytes) {
  require_equal(static_cast<uint64_t>(result.worker_id), static_cast<uint64_t>(worker_id), WireErrc::IDENTITY_MISMATCH,
                "AllocResultWire.worker_id", "owner worker");
  require_equal(result.nbytes, requested_nbytes, WireErrc::IDENTITY_MISMATCH, "AllocResultWire.nbytes", "allocated size");
}

// --- FREE_REMOTE_BUFFER -------------------------------------------------------------------------

void validate(const BufferRef& r) {
  require_live_handle(r.worker_id, r.buffer_id, r.generation,
                      {"BufferRefWire.worker_id", "BufferRefWire.buffer_id", "BufferRefWire.generation"});
}

std::vector<uint8_t> encode_buffer_ref(const BufferRef& r) {
  return encode_checked(r, BUFFER_REF_BYTES, [&](ByteWriter& w) {
    w.i32(r.worker_id);
    w.u64(r.buffer_id);
    w.u64(r.generation);
  });
}

BufferRef decode_buffer_ref(std::span<const uint8_t> bytes) {
  require_size(bytes, BUFFER_REF_BYTES, "BufferRefWire");
  return decode_checked(bytes, "BufferRefWire", [](ByteReader& r) {
    BufferRef x;
    x.worker_id = r.i32("BufferRefWire.worker_id");
    x.buffer_id = r.u64("BufferRefWire.buffer_id");
    x.generation = r.u64("BufferRefWire.generation");
    return x;
  });
}

// --- COPY_TO_REMOTE / COPY_FROM_REMOTE v1 -------------------------------------------------------

namespace {

// The rules every v1 copy shares, whatever holds its data.
void validate_copy_head(int32_t worker, uint64_t buffer_id, uint64_t generation, uint64_t offset, uint64_t size) {
  require_live_handle(worker, buffer_id, generation,
                      {"CopyRequestWire.worker_id", "CopyRequestWire.buffer_id", "CopyRequestWire.generation"});
  require_no_overflow(offset, size, "CopyRequestWire.size");
}

void require_copy_to_length(uint64_t data_bytes, uint64_t size) {
  require_equal(data_bytes, size, WireErrc::WRONG_SIZE, "CopyRequestWire.data", "COPY_TO_REMOTE data length");
}

void write_copy_head(ByteWriter& w, int32_t worker, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                     uint64_t size) {
  w.i32(worker);
  w.u64(buffer_id);
  w.u64(generation);
  w.u64(offset);
  w.u64(size);
}

}  // namespace

void validate(const CopyRequest& r, CopyDirection direction) {
  validate_copy_head(r.worker_id, r.buffer_id, r.generation, r.offset, r.size);
  if (direction == CopyDirection::TO_REMOTE) {
    require_copy_to_length(r.data.size(), r.size);
  } else if (!r.data.empty()) {
    fail(WireErrc::WRONG_SIZE, "CopyRequestWire.data", "COPY_FROM_REMOTE carries no data");
  }
}

std::vector<uint8_t> encode_copy_request(const CopyRequest& r, CopyDirection direction) {
  validate(r, direction);
  ByteWriter w(COPY_REQUEST_HEAD_BYTES + r.data.size());
  write_copy_head(w, r.worker_id, r.buffer_id, r.generation, r.offset, r.size);
  w.raw(r.data);
  return w.take();
}

CopyRequest decode_copy_request(std::span<const uint8_t> bytes, CopyDirection direction) {
  if (direction == CopyDirection::TO_REMOTE) {
    const CopyToView v = decode_copy_to(bytes);
    return CopyRequest{v.worker_id, v.buffer_id, v.generation, v.offset, v.size, {v.data.begin(), v.data.end()}};
  }
  ByteReader r(bytes, "CopyRequestWire");
  CopyRequest x;
  x.worker_id = r.i32("CopyRequestWire.worker_id");
  x.buffer_id = r.u64("CopyRequestWire.buffer_id");
  x.generation = r.u64("CopyRequestWire.generation");
  x.offset = r.u64("CopyRequestWire.offset");
  x.size = r.u64("CopyRequestWire.size");
  if (r.remaining() != 0)
    fail(WireErrc::WRONG_SIZE, "CopyRequestWire.data",
         fmt::format("COPY_FROM_REMOTE carries {} data bytes; its command is exactly {} bytes", r.remaining(),
                     COPY_REQUEST_HEAD_BYTES));
  validate(x, direction);
  return x;
}

void validate(const CopyToView& r) {
  validate_copy_head(r.worker_id, r.buffer_id, r.generation, r.offset, r.size);
  require_copy_to_length(r.data.size(), r.size);
}

std::vector<uint8_t> encode_copy_to(const CopyToView& r) {
  validate(r);
  // The head goes through the writer; the data is appended once, without zero-filling the
  // buffer first (a chunk is up to 16 MiB, so every pass over it counts).
  ByteWriter w(COPY_REQUEST_HEAD_BYTES);
  write_copy_head(w, r.worker_id, r.buffer_id, r.generation, r.offset, r.size);
  std::vector<uint8_t> out;
  out.reserve(COPY_REQUEST_HEAD_BYTES + r.data.size());
  out.insert(out.end(), w.bytes().begin(), w.bytes().end());
  out.insert(out.end(), r.data.begin(), r.data.end());
  return out;
}

std::vector<uint8_t> encode_copy_to_head(const CopyToView& r) {
  validate(r);
  ByteWriter w(COPY_REQUEST_HEAD_BYTES);
  write_copy_head(w, r.worker_id, r.buffer_id, r.generation, r.offset, r.size);
  return w.take();
}

CopyToView decode_copy_to(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "CopyRequestWire");
  CopyToView x;
  x.worker_id = r.i32("CopyRequestWire.worker_id");
  x.buffer_id = r.u64("CopyRequestWire.buffer_id");
  x.generation = r.u64("CopyRequestWire.generation");
  x.offset = r.u64("CopyRequestWire.offset");
  x.size = r.u64("CopyRequestWire.size");
  // The data length is implied by command_len; compare before taking the view.
  require_copy_to_length(r.remaining(), x.size);
  x.data = r.raw("CopyRequestWire.data", r.remaining());
  validate(x);
  return x;
}

std::optional<CopyToView> decode_copy_to_control_prefix(std::span<const uint8_t> prefix, uint64_t payload_bytes) {
  if (prefix.size() != COPY_TO_CONTROL_PREFIX_BYTES || payload_bytes < COPY_TO_CONTROL_PREFIX_BYTES) return std::nullopt;
  try {
    ByteReader r(prefix, "ControlPayload");
    if (r.u32("ControlPayload.control_name") != static_cast<uint32_t>(ControlName::COPY_TO_REMOTE)) return std::nullopt;
    if (r.u32("ControlPayload.control_version") != 1) return std::nullopt;
    const uint64_t command_len = r.u32("ControlPayload.command_len");
    if (command_len != payload_bytes - 12) return std::nullopt;
    CopyToView x;
    x.worker_id = r.i32("CopyRequestWire.worker_id");
    x.buffer_id = r.u64("CopyRequestWire.buffer_id");
    x.generation = r.u64("CopyRequestWire.generation");
    x.offset = r.u64("CopyRequestWire.offset");
    x.size = r.u64("CopyRequestWire.size");
    require_copy_to_length(command_len - COPY_REQUEST_HEAD_BYTES, x.size);
    validate_copy_head(x.worker_id, x.buffer_id, x.generation, x.offset, x.size);
    return x;
  } catch (const WireError&) {
    return std::nullopt;
  }
}

std::vector<uint8_t> encode_control_reply_head(const ControlReply& reply, uint64_t result_bytes) {
  if (result_bytes > MAX_FRAME_PAYLOAD_BYTES)
    fail(WireErrc::TOO_LONG, "ControlReplyPayload.result_len",
         fmt::format("{} bytes exceed the maximum of {}", result_bytes, MAX_FRAME_PAYLOAD_BYTES));
  ControlReply envelope = reply;
  envelope.result = {};
  std::vector<uint8_t> head = encode_control_reply(envelope);  // checks name, version, code and message
  // The result is the last field: a u32 length (0 here) and then the bytes, which the caller sends.
  if (head.size() < 4) fail(WireErrc::TRUNCATED, "ControlReplyPayload.result_len", "reply envelope too short");
  const auto n = static_cast<uint32_t>(result_bytes);
  for (size_t i = 0; i < 4; ++i) head[head.size() - 4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return head;
}

void check_copy_from_result(std::span<const uint8_t> result, const CopyRequest& request) {
  require_equal(result.size(), request.size, WireErrc::WRONG_SIZE, "ControlReplyPayload.result_bytes",
                "COPY_FROM_REMOTE result length");
}

// --- COPY_TO_REMOTE / COPY_FROM_REMOTE v2 (RMA) -------------------------------------------------

void validate(const CopyRmaRequest& r) {
  require_live_handle(r.worker_id, r.buffer_id, r.generation,
                      {"CopyRmaRequestWire.worker_id", "CopyRmaRequestWire.buffer_id", "CopyRmaRequestWire.generation"});
  require_nonzero(r.size, "CopyRmaRequestWire.size");
  require_no_overflow(r.offset, r.size, "CopyRmaRequestWire.size");
}

std::vector<uint8_t> encode_copy_rma_request(const CopyRmaRequest& r) {
  return encode_checked(r, 56 + r.peer_rkey.size(), [&](ByteWriter& w) {
    w.i32(r.worker_id);
    w.u64(r.buffer_id);
    w.u64(r.generation);
    w.u64(r.offset);
    w.u64(r.size);
    w.u64(r.peer_addr);
    w.blob("CopyRmaRequestWire.peer_rkey", r.peer_rkey, MAX_RMA_KEY_BYTES);
    w.reserved_u32();
  });
}

CopyRmaRequest decode_copy_rma_request(std::span<const uint8_t> bytes) {
  return decode_checked(bytes, "CopyRmaRequestWire", [](ByteReader& r) {
    CopyRmaRequest x;
    x.worker_id = r.i32("CopyRmaRequestWire.worker_id");
    x.buffer_id = r.u64("CopyRmaRequestWire.buffer_id");
    x.generation = r.u64("CopyRmaRequestWire.generation");
    x.offset = r.u64("CopyRmaRequestWire.offset");
    x.size = r.u64("CopyRmaRequestWire.size");
    x.peer_addr = r.u64("CopyRmaRequestWire.peer_addr");
    const auto key = r.blob("CopyRmaRequestWire.peer_rkey", MAX_RMA_KEY_BYTES);
    x.peer_rkey.assign(key.begin(), key.end());
    r.reserved_u32("CopyRmaRequestWire.reserved");
    return x;
  });
}

// --- EXPORT_BUFFER ------------------------------------------------------------------------------

void validate(const ExportBufferRequest& r) {
  require_live_handle(r.owner_worker_id, r.buffer_id, r.generation,
                      {"ExportBufferRequestWire.owner_worker_id", "ExportBufferRequestWire.buffer_id",
                       "ExportBufferRequestWire.generation"});
  require_nonzero(r.nbytes, "ExportBufferRequestWire.nbytes");
  require_no_overflow(r.offset, r.nbytes, "ExportBufferRequestWire.nbytes");
  require_access(r.access_flags, "ExportBufferRequestWire.access_flags");
}

std::vector<uint8_t> encode_export_request(const ExportBufferRequest& r) {
  return encode_checked(r, 64 + r.transport_profile.size(), [&](ByteWriter& w) {
    w.i32(r.owner_worker_id);
    w.u64(r.buffer_id);
    w.u64(r.generation);
    w.u64(r.offset);
    w.u64(r.nbytes);
    w.u32(r.access_flags);
    w.text("ExportBufferRequestWire.transport_profile", r.transport_profile, MAX_TRANSPORT_PROFILE_BYTES);
    w.reserved_u32();
  });
}

ExportBufferRequest decode_export_request(std::span<const uint8_t> bytes) {
  return decode_checked(bytes, "ExportBufferRequestWire", [](ByteReader& r) {
    ExportBufferRequest x;
    x.owner_worker_id = r.i32("ExportBufferRequestWire.owner_worker_id");
    x.buffer_id = r.u64("ExportBufferRequestWire.buffer_id");
    x.generation = r.u64("ExportBufferRequestWire.generation");
    x.offset = r.u64("ExportBufferRequestWire.offset");
    x.nbytes = r.u64("ExportBufferRequestWire.nbytes");
    x.access_flags = r.u32("ExportBufferRequestWire.access_flags");
    x.transport_profile = r.text("ExportBufferRequestWire.transport_profile", MAX_TRANSPORT_PROFILE_BYTES);
    r.reserved_u32("ExportBufferRequestWire.reserved");
    return x;
  });
}

void validate(const ExportBufferResult& r) {
  require_live_handle(r.owner_worker_id, r.buffer_id, r.generation,
                      {"ExportBufferResultWire.owner_worker_id", "ExportBufferResultWire.buffer_id",
                       "ExportBufferResultWire.generation"});
  require_window_space(r.address_space, "ExportBufferResultWire.address_space");
  require_nonzero(r.nbytes, "ExportBufferResultWire.nbytes");
  require_no_overflow(r.offset, r.nbytes, "ExportBufferResultWire.nbytes");
  require_nonzero(r.export_id, "ExportBufferResultWire.export_id");
  require_access(r.access_flags, "ExportBufferResultWire.access_flags");
}

std::vector<uint8_t> encode_export_result(const ExportBufferResult& r) {
  return encode_checked(r, 96 + r.transport_profile.size() + r.transport_descriptor.size(),
                        [&](ByteWriter& w) { write_export_result(w, r); });
}

ExportBufferResult decode_export_result(std::span<const uint8_t> bytes) {
  return decode_checked(bytes, "ExportBufferResultWire", [](ByteReader& r) { return read_export_result(r); });
}

void check_export_result(const ExportBufferResult& result, const ExportBufferRequest& request) {
  constexpr auto kCode = WireErrc::IDENTITY_MISMATCH;
  require_equal(static_cast<uint64_t>(result.owner_worker_id), static_cast<uint64_t>(request.owner_worker_id), kCode,
                "ExportBufferResultWire.owner_worker_id", "owner worker");
  require_equal(result.buffer_id, request.buffer_id, kCode, "ExportBufferResultWire.buffer_id", "buffer id");
  require_equal(result.generation, request.generation, kCode, "ExportBufferResultWire.generation", "generation");
  require_equal(result.offset, request.offset, kCode, "ExportBufferResultWire.offset", "offset");
  require_equal(result.nbytes, request.nbytes, kCode, "ExportBufferResultWire.nbytes", "nbytes");
}

// --- IMPORT_BUFFER ------------------------------------------------------------------------------

void validate(const ImportBufferRequest& r) {
  require_non_negative(r.importer_worker_id, "ImportBufferRequestWire.importer_worker_id");
  require_access(r.requested_access_flags, "ImportBufferRequestWire.requested_access_flags");
  try {
    validate(r.export_desc);
  } catch (const WireError& e) {
    throw e.nested_in("ImportBufferRequestWire.export_desc");
  }
  if (r.requested_access_flags & ~r.export_desc.access_flags)
    fail(WireErrc::INVALID_VALUE, "ImportBufferRequestWire.requested_access_flags",
         fmt::format("requested {:#x} is not a subset of the exported {:#x}", r.requested_access_flags,
                     r.export_desc.access_flags));
}

std::vector<uint8_t> encode_import_request(const ImportBufferRequest& r) {
  return encode_checked(r, 112 + r.export_desc.transport_profile.size() + r.export_desc.transport_descriptor.size(),
                        [&](ByteWriter& w) {
                          w.i32(r.importer_worker_id);
                          w.u32(r.requested_access_flags);
                          write_export_result(w, r.export_desc);
                          w.reserved_u32();
                        });
}

ImportBufferRequest decode_import_request(std::span<const uint8_t> bytes) {
  return decode_checked(bytes, "ImportBufferRequestWire", [](ByteReader& r) {
    ImportBufferRequest x;
    x.importer_worker_id = r.i32("ImportBufferRequestWire.importer_worker_id");
    x.requested_access_flags = r.u32("ImportBufferRequestWire.requested_access_flags");
    x.export_desc = read_export_result(r);
    r.reserved_u32("ImportBufferRequestWire.reserved");
    return x;
  });
}

void validate(const ImportBufferResult& r) {
  require_non_negative(r.importer_worker_id, "ImportBufferResultWire.importer_worker_id");
  require_live_handle(r.owner_worker_id, r.buffer_id, r.generation,
                      {"ImportBufferResultWire.owner_worker_id", "ImportBufferResultWire.buffer_id",
                       "ImportBufferResultWire.generation"});
  require_nonzero(r.import_id, "ImportBufferResultWire.import_id");
  require_window_space(r.address_space, "ImportBufferResultWire.address_space");
  require_nonzero(r.nbytes, "ImportBufferResultWire.nbytes");
  require_no_overflow(r.offset, r.nbytes, "ImportBufferResultWire.nbytes");
  require_access(r.access_flags, "ImportBufferResultWire.access_flags");
}

std::vector<uint8_t> encode_import_result(const ImportBufferResult& r) {
  return encode_checked(r, 100 + r.transport_profile.size() + r.import_descriptor.size(), [&](ByteWriter& w) {
    w.i32(r.importer_worker_id);
    w.i32(r.owner_worker_id);
    w.u64(r.buffer_id);
    w.u64(r.generation);
    w.u64(r.import_id);
    w.u32(static_cast<uint32_t>(r.address_space));
    w.u64(r.offset);
    w.u64(r.nbytes);
    w.u64(r.remote_addr);
    w.u64(r.rkey_or_token);
    w.u64(r.ub_ldst_va);
    w.u32(r.access_flags);
    w.text("ImportBufferResultWire.transport_profile", r.transport_profile, MAX_TRANSPORT_PROFILE_BYTES);
    w.blob("ImportBufferResultWire.import_descriptor", r.import_descriptor, MAX_TRANSPORT_DESCRIPTOR_BYTES);
    w.reserved_u32();
  });
}

ImportBufferResult decode_import_result(std::span<const uint8_t> bytes) {
  return decode_checked(bytes, "ImportBufferResultWire", [](ByteReader& r) {
    ImportBufferResult x;
    x.importer_worker_id = r.i32("ImportBufferResultWire.importer_worker_id");
    x.owner_worker_id = r.i32("ImportBufferResultWire.owner_worker_id");
    x.buffer_id = r.u64("ImportBufferResultWire.buffer_id");
    x.generation = r.u64("ImportBufferResultWire.generation");
    x.import_id = r.u64("ImportBufferResultWire.import_id");
    x.address_space = known_enum<RemoteAddressSpace>(r.u32("ImportBufferResultWire.address_space"),
                                                     "ImportBufferResultWire.address_space");
    x.offset = r.u64("ImportBufferResultWire.offset");
    x.nbytes = r.u64("ImportBufferResultWire.nbytes");
    x.remote_addr = r.u64("ImportBufferResultWire.remote_addr");
    x.rkey_or_token = r.u64("ImportBufferResultWire.rkey_or_token");
    x.ub_ldst_va = r.u64("ImportBufferResultWire.ub_ldst_va");
    x.access_flags = r.u32("ImportBufferResultWire.access_flags");
    x.transport_profile = r.text("ImportBufferResultWire.transport_profile", MAX_TRANSPORT_PROFILE_BYTES);
    const auto desc = r.blob("ImportBufferResultWire.import_descriptor", MAX_TRANSPORT_DESCRIPTOR_BYTES);
    x.import_descriptor.assign(desc.begin(), desc.end());
    r.reserved_u32("ImportBufferResultWire.reserved");
    return x;
  });
}

void check_import_result(const ImportBufferResult& result, const ImportBufferRequest& request) {
  constexpr auto kCode = WireErrc::IDENTITY_MISMATCH;
  const ExportBufferResult& e = request.export_desc;
  require_equal(static_cast<uint64_t>(result.importer_worker_id), static_cast<uint64_t>(request.importer_worker_id),
                kCode, "ImportBufferResultWire.importer_worker_id", "importer worker");
  require_equal(static_cast<uint64_t>(result.owner_worker_id), static_cast<uint64_t>(e.owner_worker_id), kCode,
                "ImportBufferResultWire.owner_worker_id", "owner worker");
  require_equal(result.buffer_id, e.buffer_id, kCode, "ImportBufferResultWire.buffer_id", "buffer id");
  require_equal(result.generation, e.generation, kCode, "ImportBufferResultWire.generation", "generation");
  require_equal(result.offset, e.offset, kCode, "ImportBufferResultWire.offset", "offset");
  require_equal(result.nbytes, e.nbytes, kCode, "ImportBufferResultWire.nbytes", "nbytes");
  require_equal(result.access_flags, request.requested_access_flags, kCode, "ImportBufferResultWire.access_flags",
                "granted access");
}

// --- RELEASE_IMPORT -----------------------------------------------------------------------------

void validate(const ReleaseImportRequest& r) {
  require_non_negative(r.importer_worker_id, "ReleaseImportRequestWire.importer_worker_id");
  require_live_handle(r.owner_worker_id, r.buffer_id, r.generation,
                      {"ReleaseImportRequestWire.owner_worker_id", "ReleaseImportRequestWire.buffer_id",
                       "ReleaseImportRequestWire.generation"});
  require_nonzero(r.import_id, "ReleaseImportRequestWire.import_id");
}

std::vector<uint8_t> encode_release_import(const ReleaseImportRequest& r) {
  return encode_checked(r, RELEASE_IMPORT_BYTES, [&](ByteWriter& w) {
    w.i32(r.importer_worker_id);
    w.i32(r.owner_worker_id);
    w.u64(r.buffer_id);
    w.u64(r.generation);
    w.u64(r.import_id);
    w.reserved_u32();
  });
}

ReleaseImportRequest decode_release_import(std::span<const uint8_t> bytes) {
  require_size(bytes, RELEASE_IMPORT_BYTES, "ReleaseImportRequestWire");
  return decode_checked(bytes, "ReleaseImportRequestWire", [](ByteReader& r) {
    ReleaseImportRequest x;
    x.importer_worker_id = r.i32("ReleaseImportRequestWire.importer_worker_id");
    x.owner_worker_id = r.i32("ReleaseImportRequestWire.owner_worker_id");
    x.buffer_id = r.u64("ReleaseImportRequestWire.buffer_id");
    x.generation = r.u64("ReleaseImportRequestWire.generation");
    x.import_id = r.u64("ReleaseImportRequestWire.import_id");
    r.reserved_u32("ReleaseImportRequestWire.reserved");
    return x;
  });
}

}  // namespace echelon::wire
