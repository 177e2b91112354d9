// TensorMap footprints and overlap cascade (RT-310..315).
#include <gtest/gtest.h>

#include "echelon/host_buffer.h"
#include "runtime/tensor_map.h"

using namespace echelon;

namespace {
Tensor tile(const HostBuffer& b, uint32_t row, uint32_t rows, uint32_t col, uint32_t cols, uint32_t width = 8) {
  const uint32_t shape[] = {rows, cols};
  const uint32_t strides[] = {width, 1};
  return Tensor::view(b.descriptor(), (uint64_t{row} * width + col) * 4, shape, DataType::FLOAT32, strides);
}
}  // namespace

TEST(TensorMapTest, DisjointTilesAreIndependent) {
  HostBuffer b(8 * 8 * 4);
  // Left and right halves of the same rows: byte ranges interleave, the lattice proves them disjoint.
  EXPECT_EQ(relate(Footprint::of(tile(b, 0, 4, 0, 4)), Footprint::of(tile(b, 0, 4, 4, 4))), Overlap::NONE);
  EXPECT_EQ(relate(Footprint::of(tile(b, 0, 2, 0, 8)), Footprint::of(tile(b, 2, 2, 0, 8))), Overlap::NONE);
  EXPECT_EQ(relate(Footprint::of(tile(b, 0, 4, 0, 4)), Footprint::of(tile(b, 2, 4, 2, 4))), Overlap::PARTIAL);
  EXPECT_EQ(relate(Footprint::of(tile(b, 0, 8, 0, 8)), Footprint::of(tile(b, 2, 2, 2, 2))), Overlap::COVERED);
  EXPECT_EQ(relate(Footprint::of(tile(b, 1, 3, 1, 3)), Footprint::of(tile(b, 2, 2, 2, 2))), Overlap::COVERED);
}

TEST(TensorMapTest, TouchingRangesDoNotOverlap) {
  HostBuffer b(256);
  const Tensor a = b.view(0, {16}, DataType::FLOAT32), c = b.view(64, {16}, DataType::FLOAT32);
  EXPECT_EQ(relate(Footprint::of(a), Footprint::of(c)), Overlap::NONE);
}

TEST(TensorMapTest, MismatchedLayoutsFallBackToConservative) {
  HostBuffer b(8 * 8 * 4);
  // Column 0 (stride 8) versus column 1 seen through a different lattice: really disjoint, but the
  // layouts differ, so the map must assume an overlap rather than miss one.
  const uint32_t shape_col[] = {8};
  const uint32_t stride_col[] = {8};
  const Tensor col0 = Tensor::view(b.descriptor(), 0, shape_col, DataType::FLOAT32, stride_col);
  const Tensor col1_as_2d = tile(b, 0, 8, 1, 1);
  EXPECT_EQ(relate(Footprint::of(col0), Footprint::of(col1_as_2d)), Overlap::PARTIAL);
  // Different dtypes over overlapping bytes: conservative too.
  const Tensor bytes = Tensor::view(b.descriptor(), 0, {16}, DataType::UINT8);
  EXPECT_NE(relate(Footprint::of(b.view(0, {4}, DataType::FLOAT32)), Footprint::of(bytes)), Overlap::NONE);
}

TEST(TensorMapTest, CoveringWriteSupersedesEntriesUnderIt) {
  HostBuffer b(1024);
  TensorMap map;
  const auto key = b.descriptor().identity;
  map.insert(key, Footprint::of(b.view(0, {16}, DataType::FLOAT32)), 1, false);
  map.insert(key, Footprint::of(b.view(64, {16}, DataType::FLOAT32)), 2, true);
  map.insert(key, Footprint::of(b.view(96, {32}, DataType::FLOAT32)), 3, true);  // covers slot 2 only partly
  EXPECT_EQ(map.entry_count(), 3u);
  map.insert(key, Footprint::of(b.view(0, {256}, DataType::FLOAT32)), 4, true);  // covers everything
  EXPECT_EQ(map.entry_count(), 1u);
  std::vector<uint32_t> seen;
  map.for_each_overlap(key, Footprint::of(b.view(0, {4}, DataType::FLOAT32)), [&](const auto& e) { seen.push_back(e.slot); });
  EXPECT_EQ(seen, std::vector<uint32_t>{4});
}

TEST(TensorMapTest, EraseKeepsNewerProducer) {
  HostBuffer b(1024);
  TensorMap map;
  const auto key = b.descriptor().identity;
  const auto fp = Footprint::of(b.view(0, {16}, DataType::FLOAT32));
  const uint64_t old_id = map.insert(key, fp, 1, true);
  map.insert(key, fp, 2, true);  // newer writer supersedes the old entry
  map.erase(key, old_id);        // retiring the old producer must not touch the newer entry
  std::vector<uint32_t> seen;
  map.for_each_overlap(key, fp, [&](const auto& e) { seen.push_back(e.slot); });
  EXPECT_EQ(seen, std::vector<uint32_t>{2});
}

TEST(TensorMapTest, SameAddressIsNamespacedByIdentity) {
  HostBuffer b(1024);
  BufferDescriptor other = b.descriptor();
  other.identity = new_local_identity();  // same address, another backing incarnation
  TensorMap map;
  const Tensor t = b.view(0, {16}, DataType::FLOAT32);
  map.insert(b.descriptor().identity, Footprint::of(t), 1, true);
  int hits = 0;
  map.for_each_overlap(other.identity, Footprint::of(t), [&](const auto&) { ++hits; });
  EXPECT_EQ(hits, 0);
}
