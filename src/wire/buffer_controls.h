// Buffer-family control layouts (protocol.md 9.2, buffers.md 5).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wire/control.h"
#include "wire/remote_desc.h"

namespace echelon::wire {

inline constexpr uint32_t REMOTE_BUFFER_ACCESS_READ = 1u << 0;
inline constexpr uint32_t REMOTE_BUFFER_ACCESS_WRITE = 1u << 1;
inline constexpr uint32_t REMOTE_BUFFER_ACCESS_READ_WRITE = 0x3;

// ALLOC_REMOTE_BUFFER request: exactly 8 bytes.
struct AllocRequest {
  uint64_t nbytes = 0;
  friend bool operator==(const AllocRequest&, const AllocRequest&) = default;
};

// ALLOC_REMOTE_BUFFER result: exactly 56 bytes.
struct AllocResult {
  int32_t worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  RemoteAddressSpace address_space = RemoteAddressSpace::REMOTE_DEVICE;  // i32 on the wire
  uint64_t nbytes = 0;
  uint64_t remote_addr = 0;
  uint64_t rkey_or_token = 0;
  uint64_t ub_ldst_va = 0;
  friend bool operator==(const AllocResult&, const AllocResult&) = default;
};

// FREE_REMOTE_BUFFER request: exactly 20 bytes.
struct BufferRef {
  int32_t worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  friend bool operator==(const BufferRef&, const BufferRef&) = default;
};

enum class CopyDirection { TO_REMOTE, FROM_REMOTE };

// COPY_TO_REMOTE / COPY_FROM_REMOTE version 1: a 36-byte head, then (to-remote only) exactly
// `size` data bytes.
struct CopyRequest {
  int32_t worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::vector<uint8_t> data;  // COPY_TO_REMOTE only
  friend bool operator==(const CopyRequest&, const CopyRequest&) = default;
};

// COPY_TO_REMOTE version 1 without owning the data, for the bulk path: the encoder writes the head
// and the data into one exactly sized buffer in a single pass, and the decoder's `data` is a view
// into the command bytes (valid only while they are), so a chunk is never copied into a vector of
// its own on either side. Same layout, rules and messages as CopyRequest with TO_REMOTE.
struct CopyToView {
  int32_t worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::span<const uint8_t> data;
};

// COPY_TO_REMOTE / COPY_FROM_REMOTE version 2 (ucx): the runner moves the bytes by RMA.
struct CopyRmaRequest {
  int32_t worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t peer_addr = 0;
  std::vector<uint8_t> peer_rkey;
  friend bool operator==(const CopyRmaRequest&, const CopyRmaRequest&) = default;
};

struct ExportBufferRequest {
  int32_t owner_worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  uint32_t access_flags = REMOTE_BUFFER_ACCESS_READ_WRITE;
  std::string transport_profile;
  friend bool operator==(const ExportBufferRequest&, const ExportBufferRequest&) = default;
};

struct ExportBufferResult {
  int32_t owner_worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  RemoteAddressSpace address_space = RemoteAddressSpace::REMOTE_WINDOW;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  uint64_t export_id = 0;
  uint64_t remote_addr = 0;
  uint64_t rkey_or_token = 0;
  uint64_t ub_ldst_va = 0;
  uint32_t access_flags = REMOTE_BUFFER_ACCESS_READ_WRITE;
  std::string transport_profile;
  std::vector<uint8_t> transport_descriptor;
  friend bool operator==(const ExportBufferResult&, const ExportBufferResult&) = default;
};

struct ImportBufferRequest {
  int32_t importer_worker_id = 0;
  uint32_t requested_access_flags = REMOTE_BUFFER_ACCESS_READ;
  ExportBufferResult export_desc;
  friend bool operator==(const ImportBufferRequest&, const ImportBufferRequest&) = default;
};

struct ImportBufferResult {
  int32_t importer_worker_id = 0;
  int32_t owner_worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t import_id = 0;
  RemoteAddressSpace address_space = RemoteAddressSpace::REMOTE_WINDOW;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  uint64_t remote_addr = 0;
  uint64_t rkey_or_token = 0;
  uint64_t ub_ldst_va = 0;
  uint32_t access_flags = REMOTE_BUFFER_ACCESS_READ;
  std::string transport_profile;
  std::vector<uint8_t> import_descriptor;
  friend bool operator==(const ImportBufferResult&, const ImportBufferResult&) = default;
};

// RELEASE_IMPORT request: exactly 36 bytes.
struct ReleaseImportRequest {
  int32_t importer_worker_id = 0;
  int32_t owner_worker_id = 0;
  uint64_t buffer_id = 0;
  uint64_t generation = 0;
  uint64_t import_id = 0;
  friend bool operator==(const ReleaseImportRequest&, const ReleaseImportRequest&) = default;
};

// Non-zero and no bits beyond READ|WRITE.
bool is_valid_access(uint32_t flags);

// Each layout: validate (the rules both directions share), encode, decode (validates).
void validate(const AllocRequest& r);
std::vector<uint8_t> encode_alloc_request(const AllocRequest& r);
AllocRequest decode_alloc_request(std::span<const uint8_t> bytes);

void validate(const AllocResult& r);
std::vector<uint8_t> encode_alloc_result(const AllocResult& r);
AllocResult decode_alloc_result(std::span<const uint8_t> bytes);

void validate(const BufferRef& r);
std::vector<uint8_t> encode_buffer_ref(const BufferRef& r);
BufferRef decode_buffer_ref(std::span<const uint8_t> bytes);

void validate(const CopyRequest& r, CopyDirection direction);
std::vector<uint8_t> encode_copy_request(const CopyRequest& r, CopyDirection direction);
CopyRequest decode_copy_request(std::span<const uint8_t> bytes, CopyDirection direction);

void validate(const CopyToView& r);
std::vector<uint8_t> encode_copy_to(const CopyToView& r);
// Only the 36-byte head of encode_copy_to(r) (validated the same way, data included): for senders
// that write `r.data` from the caller's memory right after it (scatter/gather).
std::vector<uint8_t> encode_copy_to_head(const CopyToView& r);
// The view points into `bytes`.
CopyToView decode_copy_to(std::span<const uint8_t> bytes);

void validate(const CopyRmaRequest& r);
std::vector<uint8_t> encode_copy_rma_request(const CopyRmaRequest& r);
CopyRmaRequest decode_copy_rma_request(std::span<const uint8_t> bytes);

void validate(const ExportBufferRequest& r);
std::vector<uint8_t> encode_export_request(const ExportBufferRequest& r);
ExportBufferRequest decode_export_request(std::span<const uint8_t> bytes);

void validate(const ExportBufferResult& r);
std::vector<uint8_t> encode_export_result(const ExportBufferResult& r);
ExportBufferResult decode_export_result(std::span<const uint8_t> bytes);

void validate(const ImportBufferRequest& r);
std::vector<uint8_t> encode_import_request(const ImportBufferRequest& r);
ImportBufferRequest decode_import_request(std::span<const uint8_t> bytes);

void validate(const ImportBufferResult& r);
std::vector<uint8_t> encode_import_result(const ImportBufferResult& r);
ImportBufferResult decode_import_result(std::span<const uint8_t> bytes);

void validate(const ReleaseImportRequest& r);
std::vector<uint8_t> encode_release_import(const ReleaseImportRequest& r);
ReleaseImportRequest decode_release_import(std::span<const uint8_t> bytes);

// The first bytes of a CONTROL payload carrying COPY_TO_REMOTE v1: the envelope's name, version
// and command_len (12 bytes), then the 36-byte copy head; the data follows.
inline constexpr size_t COPY_TO_CONTROL_PREFIX_BYTES = 12 + 36;
// For a receiver that places COPY_TO_REMOTE data before the frame is complete: the head of the copy
// in `prefix` (COPY_TO_CONTROL_PREFIX_BYTES) of a CONTROL payload of `payload_bytes` in all, when
// it is a COPY_TO_REMOTE v1 whose command is exactly the rest of the payload and whose head passes
// every rule of decode_copy_to for that data length (`data` is left empty). nullopt otherwise:
// the frame is then received and decoded whole, which reports whatever is wrong.
std::optional<CopyToView> decode_copy_to_control_prefix(std::span<const uint8_t> prefix, uint64_t payload_bytes);

// The CONTROL_REPLY payload of `reply` (whose own `result` is ignored) without the result bytes:
// the envelope ending in result_len = `result_bytes`, for a runner that writes a COPY_FROM_REMOTE
// result straight from the allocation after it. head + those bytes == encode_control_reply with
// them as the result; checked the same way (a result over the payload maximum throws TOO_LONG).
std::vector<uint8_t> encode_control_reply_head(const ControlReply& reply, uint64_t result_bytes);

// Parent-side checks of a result against the request it answers (protocol.md 14 item 38).
void check_alloc_result(const AllocResult& result, int32_t worker_id, uint64_t requested_nbytes);
void check_copy_from_result(std::span<const uint8_t> result, const CopyRequest& request);
void check_export_result(const ExportBufferResult& result, const ExportBufferRequest& request);
void check_import_result(const ImportBufferResult& result, const ImportBufferRequest& request);

}  // namespace echelon::wire
