#include "echelon/task_args.h"

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

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
