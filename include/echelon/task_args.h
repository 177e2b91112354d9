// Task arguments: tagged tensors plus u64 scalars (runtime.md RT-205/206), and for tasks bound to
// remote workers a sidecar of remote descriptors indexed like the tensors (buffers.md 4).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "echelon/remote_buffer.h"
#include "echelon/tensor.h"

namespace echelon {

inline constexpr size_t MAX_TENSORS = 256;
inline constexpr size_t MAX_SCALARS = 128;

enum class TensorTag : uint8_t {
  INPUT = 0,            // read
  OUTPUT = 1,           // write; may be unbound locally (materialised from the heap ring)
  INOUT = 2,            // read + write
  OUTPUT_EXISTING = 3,  // write into a bound backing
  NO_DEP = 4,           // untracked; may read and write
};
inline constexpr uint8_t TENSOR_TAG_NUM = 5;

const char* to_string(TensorTag tag);
constexpr bool tag_reads(TensorTag t) { return t == TensorTag::INPUT || t == TensorTag::INOUT; }
constexpr bool tag_writes(TensorTag t) {
  return t == TensorTag::OUTPUT || t == TensorTag::INOUT || t == TensorTag::OUTPUT_EXISTING;
}
// Grant a tag needs on its backing.
AccessMode required_access(TensorTag t);

class TaskArgs {
 public:
  TaskArgs() = default;

  // Appends a tensor; throws ValidationError past MAX_TENSORS or for an invalid tag.
  TaskArgs& add(const Tensor& t, TensorTag tag);
  TaskArgs& input(const Tensor& t) { return add(t, TensorTag::INPUT); }
  TaskArgs& output(const Tensor& t) { return add(t, TensorTag::OUTPUT); }
  TaskArgs& inout(const Tensor& t) { return add(t, TensorTag::INOUT); }
  TaskArgs& output_existing(const Tensor& t) { return add(t, TensorTag::OUTPUT_EXISTING); }
  TaskArgs& no_dep(const Tensor& t) { return add(t, TensorTag::NO_DEP); }

  // Appends a remote argument (buffers.md 4): a REMOTE_SIDECAR placeholder tensor named by the
  // owner's identity (protocol.md 6.3) and, at the same index, its RemoteTensorDesc. Inline bytes
  // go into the task's inline arena (at most MAX_INLINE_ARENA_BYTES). Throws std::invalid_argument
  // for a released handle, a full arena or a tag outside the table; access per tag, target and
  // eligibility are checked at submit.
  TaskArgs& add(const RemoteTensorRef& ref, TensorTag tag);
  TaskArgs& input(const RemoteTensorRef& r) { return add(r, TensorTag::INPUT); }
  TaskArgs& output(const RemoteTensorRef& r) { return add(r, TensorTag::OUTPUT); }
  TaskArgs& inout(const RemoteTensorRef& r) { return add(r, TensorTag::INOUT); }
  TaskArgs& output_existing(const RemoteTensorRef& r) { return add(r, TensorTag::OUTPUT_EXISTING); }
  TaskArgs& no_dep(const RemoteTensorRef& r) { return add(r, TensorTag::NO_DEP); }

  // Appends a scalar packed into 64 bits (integers zero/sign-extended, floats by bit pattern).
  template <typename T>
  TaskArgs& scalar(T value) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8);
    uint64_t bits = 0;
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      bits = static_cast<uint64_t>(static_cast<int64_t>(value));
    } else {
      std::memcpy(&bits, &value, sizeof(T));
    }
    return add_scalar_bits(bits);
  }
  TaskArgs& add_scalar_bits(uint64_t bits);

  size_t tensor_count() const { return tensors_.size(); }
  size_t scalar_count() const { return scalars_.size(); }
  const Tensor& tensor(size_t i) const { return tensors_.at(i); }
  Tensor& mutable_tensor(size_t i) { return tensors_.at(i); }
  TensorTag tag(size_t i) const { return tags_.at(i); }
  uint64_t scalar_bits(size_t i) const { return scalars_.at(i); }
  template <typename T>
  T scalar_as(size_t i) const {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8);
    T out;
    uint64_t bits = scalars_.at(i);
    std::memcpy(&out, &bits, sizeof(T));
    return out;
  }

  const std::vector<Tensor>& tensors() const { return tensors_; }
  const std::vector<TensorTag>& tags() const { return tags_; }
  const std::vector<uint64_t>& scalars() const { return scalars_; }
  // The remote sidecar: empty unless a remote argument was added, then one slot per tensor.
  const RemoteArgs& remote() const { return remote_; }

  // Rebuilds args from already-dispatched tensors (tags are gone after dispatch, RT-207): every
  // tensor reads back tagged NO_DEP. Enforces the same limits as the builders.
  static TaskArgs from_dispatched(std::vector<Tensor> tensors, std::vector<uint64_t> scalars);

 private:
  std::vector<Tensor> tensors_;
  std::vector<TensorTag> tags_;
  std::vector<uint64_t> scalars_;
  RemoteArgs remote_;
};

}  // namespace echelon
