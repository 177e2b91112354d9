// The bounded slot pool of the Ring (RT-305): slots addressed by {index, generation}, the
// generation bumped on every reuse. Slots are built in chunks on first use and never move.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/task_slot.h"

namespace echelon {

class SlotPool {
 public:
  explicit SlotPool(uint32_t capacity) : capacity_(capacity) {}

  uint32_t capacity() const { return capacity_; }
  uint32_t in_use() const { return in_use_; }
  TaskSlot& at(uint32_t index) { return chunks_[index / kChunk][index % kChunk]; }
  const TaskSlot& at(uint32_t index) const { return chunks_[index / kChunk][index % kChunk]; }
  bool contains(uint32_t index) const { return index < built_; }

  // A FREE slot with a fresh generation, or nullptr when all `capacity` slots are live.
  TaskSlot* try_acquire() {
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else if (built_ < capacity_) {
      if (built_ % kChunk == 0) chunks_.push_back(std::make_unique<TaskSlot[]>(kChunk));
      index = built_++;
      at(index).index = index;
    } else {
      return nullptr;
    }
    ++in_use_;
    TaskSlot& s = at(index);
    ++s.generation;
    return &s;
  }

  void release(TaskSlot& slot) {
    slot.reset_for_reuse();
    free_.push_back(slot.index);
    --in_use_;
  }

  template <typename Fn>
  void for_each_built(Fn&& fn) {
    for (uint32_t i = 0; i < built_; ++i) fn(at(i));
  }

 private:
  static constexpr uint32_t kChunk = 1024;
  uint32_t capacity_;
  uint32_t built_ = 0;
  uint32_t in_use_ = 0;
  std::vector<std::unique_ptr<TaskSlot[]>> chunks_;
  std::vector<uint32_t> free_;
};

}  // namespace echelon
