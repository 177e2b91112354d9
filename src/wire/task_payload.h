// TASK payload (protocol.md 6): callable digest, CallConfigWire, RemoteTaskArgsWire.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "echelon/call_config.h"
#include "echelon/callable.h"
#include "echelon/tensor.h"
#include "wire/byte_writer.h"
#include "wire/remote_desc.h"

namespace echelon::wire {

struct RemoteTaskArgsWire {
  std::vector<Tensor> tensors;  // REMOTE_SIDECAR placeholders
  std::vector<std::optional<RemoteTensorDescWire>> remote_desc;  // one slot per tensor
  std::vector<uint64_t> scalars;
  std::vector<uint8_t> inline_payload;  // the HOST_INLINE arena

  friend bool operator==(const RemoteTaskArgsWire&, const RemoteTaskArgsWire&) = default;
};

struct TaskPayload {
  Digest callable_digest{};
  CallConfig config;
  RemoteTaskArgsWire args;

  friend bool operator==(const TaskPayload&, const TaskPayload&) = default;
};

// Every codec rule of section 6, including the placeholder/descriptor agreement below; throws
// WireError naming the argument index and field.
void validate(const TaskPayload& task);
void write_task(ByteWriter& out, const TaskPayload& task);
std::vector<uint8_t> encode_task(const TaskPayload& task);
TaskPayload decode_task(std::span<const uint8_t> payload);
// Decodes into `out`, reusing its vectors' storage (the hot path of a long-lived runner).
void decode_task_into(std::span<const uint8_t> payload, TaskPayload& out);

// Placeholder conventions of 6.3, so both sides name a remote backing identically.
std::array<uint8_t, OWNER_INSTANCE_ID_BYTES> owner_nonce_for_worker(int32_t worker_id);
// The placeholder Tensor the parent sends for `desc` (row-major when `strides` is empty).
Tensor remote_placeholder(const RemoteTensorDescWire& desc, std::span<const uint32_t> shape, DataType dtype,
                          std::span<const uint32_t> strides = {});
// What the codec can tell without live state: same nbytes, and an identity that matches the
// descriptor (owner nonce, buffer id, generation; the fixed inline identity for HOST_INLINE).
// A generation disagreement is reported as STALE_GENERATION.
void check_placeholder_matches_desc(const Tensor& placeholder, const RemoteTensorDescWire& desc);

}  // namespace echelon::wire
