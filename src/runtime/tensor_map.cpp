#include "runtime/tensor_map.h"

#include <algorithm>

namespace echelon {

Footprint Footprint::of(const Tensor& t) {
  Footprint f;
  const uint64_t esize = element_size(t.dtype);
  f.lo = t.byte_offset;
  f.hi = t.byte_offset + t.extent_bytes();
  f.dense = t.is_contiguous();
  f.dtype = t.dtype;
  f.ndims = t.ndims;
  // Canonical row-major: innermost stride 1, each outer stride a multiple of the next; the
  // origin decomposes into per-axis coordinates that stay inside each axis' radix.
  bool canonical = t.ndims >= 1 && t.strides[t.ndims - 1] == 1;
  for (uint32_t i = 0; canonical && i + 1 < t.ndims; ++i)
    canonical = t.strides[i] >= t.strides[i + 1] && t.strides[i] % t.strides[i + 1] == 0;
  if (canonical) {
    uint64_t rem = t.byte_offset / esize;
    for (uint32_t i = 0; i < t.ndims; ++i) {
      f.strides[i] = t.strides[i];
      const uint64_t c = rem / t.strides[i];
      rem %= t.strides[i];
      f.begin[i] = c;
      f.end[i] = c + t.shapes[i];
      if (i > 0 && f.end[i] > t.strides[i - 1] / t.strides[i]) canonical = false;
    }
  }
  f.canonical = canonical;
  return f;
}

static bool same_lattice(const Footprint& a, const Footprint& b) {
  if (!a.canonical || !b.canonical || a.dtype != b.dtype || a.ndims != b.ndims) return false;
  for (uint32_t i = 0; i < a.ndims; ++i)
    if (a.strides[i] != b.strides[i]) return false;
  return true;
}

Overlap relate(const Footprint& a, const Footprint& b) {
  if (a.hi <= b.lo || b.hi <= a.lo) return Overlap::NONE;  // touching ranges do not overlap
  if (a.dense && a.lo <= b.lo && b.hi <= a.hi) return Overlap::COVERED;
  if (!same_lattice(a, b)) return Overlap::PARTIAL;  // conservative
  bool covered = true;
  for (uint32_t i = 0; i < a.ndims; ++i) {
    if (a.end[i] <= b.begin[i] || b.end[i] <= a.begin[i]) return Overlap::NONE;
    covered = covered && a.begin[i] <= b.begin[i] && b.end[i] <= a.end[i];
  }
  return covered ? Overlap::COVERED : Overlap::PARTIAL;
}

uint64_t TensorMap::insert(const CanonicalIdentity& key, const Footprint& fp, uint32_t slot, bool write) {
  auto& entries = map_[key];
  if (write) {
    std::erase_if(entries, [&](const Entry& e) { return e.slot != slot && relate(fp, e.footprint) == Overlap::COVERED; });
  }
  const uint64_t id = next_entry_id_++;
  entries.push_back(Entry{fp, slot, id, write});
  return id;
}

void TensorMap::erase(const CanonicalIdentity& key, uint64_t entry_id) {
  auto it = map_.find(key);
  if (it == map_.end()) return;
  std::erase_if(it->second, [&](const Entry& e) { return e.entry_id == entry_id; });
  if (it->second.empty()) map_.erase(it);
}

size_t TensorMap::entry_count() const {
  size_t n = 0;
  for (const auto& [k, v] : map_) n += v.size();
  return n;
}

}  // namespace echelon
