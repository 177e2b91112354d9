#include "wire/task_payload.h"

#include <algorithm>

#include "fmt/format.h"
#include "wire/byte_reader.h"
#include "wire/call_config_wire.h"
#include "wire/limits.h"
#include "wire/tensor_wire.h"
#include "core/remote_placeholder.h"
#include "wire/wire_error.h"

namespace echelon::wire {
namespace {

std::string arg_field(const char* list, size_t i) { return fmt::format("RemoteTaskArgsWire.{}[{}]", list, i); }

template <typename Fn>
void for_arg(const char* list, size_t i, Fn&& fn) {
  try {
    fn();
  } catch (const WireError& e) {
    throw e.nested_in(arg_field(list, i));
  }
}

void validate_descriptors(const RemoteTaskArgsWire& a) {
  for (size_t i = 0; i < a.remote_desc.size(); ++i) {
    if (!a.remote_desc[i]) continue;
    for_arg("remote_desc", i, [&] {
      validate_remote_desc(*a.remote_desc[i], a.inline_payload.size());
      check_placeholder_matches_desc(a.tensors[i], *a.remote_desc[i]);
    });
  }
}

void validate_args(const RemoteTaskArgsWire& a) {
  if (a.tensors.size() > MAX_TENSORS)
    fail(WireErrc::COUNT_TOO_LARGE, "RemoteTaskArgsWire.tensor_count",
         fmt::format("count {} exceeds the maximum of {}", a.tensors.size(), MAX_TENSORS));
  if (a.scalars.size() > MAX_SCALARS)
    fail(WireErrc::COUNT_TOO_LARGE, "RemoteTaskArgsWire.scalar_count",
         fmt::format("count {} exceeds the maximum of {}", a.scalars.size(), MAX_SCALARS));
  if (a.remote_desc.size() != a.tensors.size())
    fail(WireErrc::INVALID_VALUE, "RemoteTaskArgsWire.remote_desc",
         fmt::format("{} descriptor slots for {} tensors", a.remote_desc.size(), a.tensors.size()));
  if (a.inline_payload.size() > MAX_INLINE_PAYLOAD_BYTES)
    fail(WireErrc::TOO_LONG, "RemoteTaskArgsWire.inline_payload_bytes_len",
         fmt::format("{} bytes exceed the maximum of {}", a.inline_payload.size(), MAX_INLINE_PAYLOAD_BYTES));
  for (size_t i = 0; i < a.tensors.size(); ++i) for_arg("tensors", i, [&] { validate_tensor_wire(a.tensors[i]); });
  validate_descriptors(a);
}

}  // namespace

std::array<uint8_t, OWNER_INSTANCE_ID_BYTES> owner_nonce_for_worker(int32_t worker_id) {
  return remote_owner_nonce(worker_id);
}

Tensor remote_placeholder(const RemoteTensorDescWire& d, std::span<const uint32_t> shape, DataType dtype,
                          std::span<const uint32_t> strides) {
  const BufferDescriptor b = remote_placeholder_backing(
      {d.address_space == RemoteAddressSpace::HOST_INLINE, d.address_space == RemoteAddressSpace::REMOTE_DEVICE,
       d.owner_worker_id, d.buffer_id, d.generation, d.nbytes});
  return Tensor::view(b, 0, shape, dtype, strides);
}

void check_placeholder_matches_desc(const Tensor& t, const RemoteTensorDescWire& d) {
  const CanonicalIdentity& id = t.buffer.identity;
  if (t.buffer.nbytes != d.nbytes)
    fail(WireErrc::IDENTITY_MISMATCH, "RemoteTensorDescWire.nbytes",
         fmt::format("descriptor nbytes {} differs from the placeholder's {}", d.nbytes, t.buffer.nbytes));
  if (d.address_space == RemoteAddressSpace::HOST_INLINE) {
    if (id.owner_instance_id != decltype(id.owner_instance_id){} || id.buffer_id != 0 || id.generation != REMOTE_INLINE_GENERATION)
      fail(WireErrc::IDENTITY_MISMATCH, "TensorWire.buffer_id",
           "a HOST_INLINE placeholder must carry the inline identity (owner 0, buffer 0, generation 1)");
    return;
  }
  if (id.owner_instance_id != owner_nonce_for_worker(d.owner_worker_id))
    fail(WireErrc::IDENTITY_MISMATCH, "TensorWire.owner_instance_id",
         fmt::format("placeholder owner differs from descriptor owner worker {}", d.owner_worker_id));
  if (id.buffer_id != d.buffer_id)
    fail(WireErrc::IDENTITY_MISMATCH, "TensorWire.buffer_id",
         fmt::format("placeholder buffer {} differs from descriptor buffer {}", id.buffer_id, d.buffer_id));
  if (d.generation > UINT32_MAX)
    fail(WireErrc::STALE_GENERATION, "RemoteTensorDescWire.generation",
         fmt::format("generation {} exceeds 32 bits and can never match its placeholder", d.generation));
  if (id.generation != d.generation)
    fail(WireErrc::STALE_GENERATION, "TensorWire.generation",
         fmt::format("placeholder generation {} differs from descriptor generation {}", id.generation, d.generation));
}

void validate(const TaskPayload& task) {
  try {
    task.config.validate();
  } catch (const ValidationError& e) {
    fail(WireErrc::INVALID_VALUE, "CallConfigWire", e.what());
  }
  validate_args(task.args);
}

void write_task(ByteWriter& w, const TaskPayload& task) {
  validate(task);
  const RemoteTaskArgsWire& a = task.args;
  w.fixed(task.callable_digest);
  write_call_config(w, task.config);
  w.u32(static_cast<uint32_t>(a.tensors.size()));
  w.u32(static_cast<uint32_t>(a.scalars.size()));
  for (const Tensor& t : a.tensors) write_tensor_wire(w, t);
  for (const auto& d : a.remote_desc) {
    w.boolean(d.has_value());
    if (d) write_remote_desc(w, *d);
  }
  for (uint64_t s : a.scalars) w.u64(s);
  w.blob("RemoteTaskArgsWire.inline_payload_bytes_len", a.inline_payload, MAX_INLINE_PAYLOAD_BYTES);
}

std::vector<uint8_t> encode_task(const TaskPayload& task) {
  ByteWriter w;
  write_task(w, task);
  return w.take();
}

void decode_task_into(std::span<const uint8_t> payload, TaskPayload& out) {
  ByteReader r(payload, "TASK");
  r.fixed("TaskPayloadWire.callable_hash_digest", out.callable_digest);
  read_call_config(r, out.config);
  RemoteTaskArgsWire& a = out.args;
  // Both counts are bounded by their maxima and by the smallest bytes their elements need before
  // any element is decoded or any storage reserved.
  constexpr size_t kMinPerTensor = TENSOR_WIRE_MIN_BYTES + 1;  // record + presence byte
  const uint32_t tensor_count = r.count("RemoteTaskArgsWire.tensor_count", MAX_TENSORS, kMinPerTensor, 4 + 4);
  const uint32_t scalar_count =
      r.count("RemoteTaskArgsWire.scalar_count", MAX_SCALARS, 8, size_t{tensor_count} * kMinPerTensor + 4);
  a.tensors.resize(tensor_count);
  for (uint32_t i = 0; i < tensor_count; ++i) for_arg("tensors", i, [&] { read_tensor_wire(r, a.tensors[i]); });
  a.remote_desc.resize(tensor_count);
  for (uint32_t i = 0; i < tensor_count; ++i) {
    for_arg("remote_desc", i, [&] {
      if (r.boolean("OptionalRemoteTensorDescWire.present")) {
        RemoteTensorDescWire d;
        read_remote_desc(r, d);
        a.remote_desc[i] = d;
      } else {
        a.remote_desc[i].reset();
      }
    });
  }
  a.scalars.resize(scalar_count);
  const auto scalar_bytes = r.raw("RemoteTaskArgsWire.scalars", size_t{scalar_count} * 8);
  for (uint32_t i = 0; i < scalar_count; ++i) a.scalars[i] = load_le<uint64_t>(scalar_bytes.data() + 8 * i);
  const auto arena = r.blob("RemoteTaskArgsWire.inline_payload_bytes_len", MAX_INLINE_PAYLOAD_BYTES);
  a.inline_payload.assign(arena.begin(), arena.end());
  r.expect_end();
  // Descriptor rules that depend on the arena run once its length is known.
  validate_descriptors(a);
}

TaskPayload decode_task(std::span<const uint8_t> payload) {
  TaskPayload out;
  decode_task_into(payload, out);
  return out;
}

}  // namespace echelon::wire
