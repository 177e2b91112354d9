// The references one task slot holds on the remote buffers its arguments name (buffers.md 6,
// "Capture"): one per distinct handle, taken before the slot becomes visible and dropped exactly
// once, when the slot is consumed (success, failure, poison and skip alike) or when a refused
// submit unwinds.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "core/remote_buffer_record.h"

namespace echelon::detail {

class RemoteSlotRefs {
 public:
  RemoteSlotRefs() = default;
  RemoteSlotRefs(const RemoteSlotRefs&) = delete;
  RemoteSlotRefs& operator=(const RemoteSlotRefs&) = delete;
  RemoteSlotRefs(RemoteSlotRefs&& o) noexcept : held_(std::move(o.held_)) { o.held_.clear(); }
  RemoteSlotRefs& operator=(RemoteSlotRefs&& o) noexcept {
    if (this != &o) {
      release_all();
      held_ = std::move(o.held_);
      o.held_.clear();
    }
    return *this;
  }
  ~RemoteSlotRefs() { release_all(); }

  // Captures `record` once per slot. False when the handle was released (nothing captured).
  bool capture(const std::shared_ptr<RemoteBufferRecord>& record) {
    if (std::find(held_.begin(), held_.end(), record) != held_.end()) return true;
    if (!record->capture_ref()) return false;
    held_.push_back(record);
    return true;
  }

  // Drops every reference; the vector keeps its capacity so a recycled slot does not allocate.
  void release_all() noexcept {
    for (auto& r : held_) r->drop_ref();
    held_.clear();
  }

  bool empty() const { return held_.empty(); }
  size_t size() const { return held_.size(); }

 private:
  std::vector<std::shared_ptr<RemoteBufferRecord>> held_;
};

}  // namespace echelon::detail
