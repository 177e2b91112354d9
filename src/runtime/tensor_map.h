// Dependency inference state of one run: backing identity -> accesses with byte footprints
// (runtime.md RT-310..315). Extra edges are acceptable; a missed real overlap is not.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "echelon/buffer.h"
#include "echelon/tensor.h"

namespace echelon {

// The bytes a view touches, plus its lattice when it has a canonical row-major layout.
struct Footprint {
  uint64_t lo = 0;  // [lo, hi) relative to the backing's first byte
  uint64_t hi = 0;
  bool dense = false;      // every byte of [lo, hi) belongs to the view
  bool canonical = false;  // lattice fields below are meaningful
  DataType dtype = DataType::UINT8;
  uint32_t ndims = 0;
  uint32_t strides[MAX_TENSOR_DIMS]{};
  uint64_t begin[MAX_TENSOR_DIMS]{};  // per-axis coordinate range [begin, end)
  uint64_t end[MAX_TENSOR_DIMS]{};

  static Footprint of(const Tensor& t);
};

enum class Overlap { NONE, PARTIAL, COVERED };

// How `b` relates to `a`: NONE (disjoint), COVERED (every byte of b is in a), else PARTIAL.
Overlap relate(const Footprint& a, const Footprint& b);

class TensorMap {
 public:
  struct Entry {
    Footprint footprint;
    uint32_t slot = 0;
    uint64_t entry_id = 0;
    bool write = false;
  };

  // Calls fn(entry) for every entry of `key` overlapping `fp`.
  template <typename Fn>
  void for_each_overlap(const CanonicalIdentity& key, const Footprint& fp, Fn&& fn) const {
    auto it = map_.find(key);
    if (it == map_.end()) return;
    for (const Entry& e : it->second)
      if (relate(fp, e.footprint) != Overlap::NONE) fn(e);
  }

  // Inserts an access; a write first drops the entries it provably covers (RT-312).
  uint64_t insert(const CanonicalIdentity& key, const Footprint& fp, uint32_t slot, bool write);
  // Owner-checked erase: removes the entry only if it still exists (RT-315).
  void erase(const CanonicalIdentity& key, uint64_t entry_id);

  size_t key_count() const { return map_.size(); }
  size_t entry_count() const;

 private:
  std::unordered_map<CanonicalIdentity, std::vector<Entry>, CanonicalIdentityHash> map_;
  uint64_t next_entry_id_ = 1;
};

}  // namespace echelon
