#include "echelon/task_args.h"

#include <stdexcept>

#include "core/remote_buffer_record.h"
#include "core/remote_placeholder.h"
#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {
namespace {

// protocol.md 6.3 "What the parent puts in the placeholder".
Tensor remote_placeholder(const RemoteTensorDesc& d, const RemoteTensorRef& ref) {
  const BufferDescriptor b = remote_placeholder_backing(
      {d.address_space == RemoteSpace::HOST_INLINE, d.address_space == RemoteSpace::REMOTE_DEVICE, d.owner_worker_id,
       d.buffer_id, d.generation, d.nbytes});
  return Tensor::view(b, 0, std::span<const uint32_t>(ref.shape().data(), ref.shape().size()), ref.dtype());
}

}  // namespace

const char* to_string(TensorTag tag) {
  switch (tag) {
    case TensorTag::INPUT: return "INPUT";
    case TensorTag::OUTPUT: return "OUTPUT";
    case TensorTag::INOUT: return "INOUT";
    case TensorTag::OUTPUT_EXISTING: return "OUTPUT_EXISTING";
    case TensorTag::NO_DEP: return "NO_DEP";
  }
  return "INVALID";
}

AccessMode required_access(TensorTag t) {
  switch (t) {
    case TensorTag::INPUT: return AccessMode::READ;
    case TensorTag::OUTPUT:
    case TensorTag::OUTPUT_EXISTING: return AccessMode::WRITE;
    default: return AccessMode::READWRITE;
  }
}

TaskArgs& TaskArgs::add(const Tensor& t, TensorTag tag) {
  if (tensors_.size() >= MAX_TENSORS)
    throw ValidationError(fmt::format("TaskArgs: more than MAX_TENSORS ({}) tensors", MAX_TENSORS));
  if (static_cast<uint8_t>(tag) >= TENSOR_TAG_NUM)
    throw ValidationError(fmt::format("TaskArgs: tensor {} has unknown tag {}", tensors_.size(), static_cast<int>(tag)));
  tensors_.push_back(t);
  tags_.push_back(tag);
  if (!remote_.empty()) {  // once a remote argument exists, the sidecar has a slot per tensor
    remote_.descs.emplace_back();
    remote_.handles.emplace_back();
  }
  return *this;
}

TaskArgs& TaskArgs::add(const RemoteTensorRef& ref, TensorTag tag) {
  const size_t index = tensors_.size();
  if (index >= MAX_TENSORS)
    throw ValidationError(fmt::format("TaskArgs: more than MAX_TENSORS ({}) tensors", MAX_TENSORS));
  if (static_cast<uint8_t>(tag) >= TENSOR_TAG_NUM)
    throw ValidationError(fmt::format("TaskArgs: tensor {} has unknown tag {}", index, static_cast<int>(tag)));
  RemoteTensorDesc d;
  d.nbytes = ref.nbytes();
  std::shared_ptr<detail::RemoteBufferRecord> record;
  if (ref.is_inline()) {
    const auto bytes = ref.inline_bytes();
    if (bytes.size() > MAX_INLINE_ARENA_BYTES - remote_.inline_arena.size())
      throw std::invalid_argument(fmt::format("TaskArgs: remote tensor {}: {} inline bytes overflow the task's {}-byte "
                                              "inline arena ({} used)", index, bytes.size(), MAX_INLINE_ARENA_BYTES,
                                              remote_.inline_arena.size()));
    d.address_space = RemoteSpace::HOST_INLINE;
    d.inline_offset = remote_.inline_arena.size();
    d.inline_len = bytes.size();
    d.access_flags = REMOTE_ACCESS_READ;
  } else {
    record = detail::RemoteHandleAccess::record(ref.handle());
    const detail::RemoteBufferIdentity& h = record->id;
    if (record->released())
      throw std::invalid_argument(fmt::format("TaskArgs: remote tensor {}: handle was released (buffer {} on worker {})",
                                              index, h.buffer_id, h.owner));
    d.address_space = h.space;
    d.owner_worker_id = h.owner;
    d.buffer_id = h.buffer_id;
    d.generation = h.generation;
    d.offset = h.offset + ref.offset();  // owner-relative (buffers.md 4)
    d.remote_addr = h.remote_addr;
    d.rkey_or_token = h.rkey_or_token;
    d.access_flags = h.access;
  }
  const Tensor placeholder = remote_placeholder(d, ref);  // validates before anything is appended
  if (remote_.empty()) {
    remote_.descs.resize(index);
    remote_.handles.resize(index);
  }
  if (ref.is_inline()) {
    const auto bytes = ref.inline_bytes();
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    remote_.inline_arena.insert(remote_.inline_arena.end(), p, p + bytes.size());
  }
  tensors_.push_back(placeholder);
  tags_.push_back(tag);
  remote_.descs.emplace_back(d);
  remote_.handles.push_back(std::move(record));
  return *this;
}

TaskArgs& TaskArgs::add_scalar_bits(uint64_t bits) {
  if (scalars_.size() >= MAX_SCALARS)
    throw ValidationError(fmt::format("TaskArgs: more than MAX_SCALARS ({}) scalars", MAX_SCALARS));
  scalars_.push_back(bits);
  return *this;
}

TaskArgs TaskArgs::from_dispatched(std::vector<Tensor> tensors, std::vector<uint64_t> scalars) {
  if (tensors.size() > MAX_TENSORS)
    throw ValidationError(fmt::format("TaskArgs: {} tensors exceed MAX_TENSORS ({})", tensors.size(), MAX_TENSORS));
  if (scalars.size() > MAX_SCALARS)
    throw ValidationError(fmt::format("TaskArgs: {} scalars exceed MAX_SCALARS ({})", scalars.size(), MAX_SCALARS));
  TaskArgs a;
  a.tags_.assign(tensors.size(), TensorTag::NO_DEP);
  a.tensors_ = std::move(tensors);
  a.scalars_ = std::move(scalars);
  return a;
}

}  // namespace echelon
