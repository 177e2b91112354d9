// A 10k-task random DAG over overlapping and disjoint views, checked against sequential execution:
// any missed dependency (or extra reordering of conflicting accesses) changes the result.
#include <gtest/gtest.h>

#include <random>

#include "test_support.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

constexpr uint32_t kBuffers = 4;
constexpr uint32_t kElems = 256;  // uint64 elements per buffer

struct Access {
  uint32_t buffer;
  uint32_t offset;  // elements
  uint32_t len;
  TensorTag tag;
};

struct RandomTask {
  std::vector<Access> accesses;
  uint64_t salt;
};

// out[i] = out[i] * 3 + Σ inputs[i % len] + salt, applied to each write access in order.
void apply_task(const RandomTask& t, const std::vector<uint64_t*>& data) {
  uint64_t in_sum = t.salt;
  for (const Access& a : t.accesses)
    if (a.tag == TensorTag::INPUT)
      for (uint32_t i = 0; i < a.len; ++i) in_sum += data[a.buffer][a.offset + i] * (i + 1);
  for (const Access& a : t.accesses) {
    if (a.tag == TensorTag::INPUT) continue;
    for (uint32_t i = 0; i < a.len; ++i) {
      uint64_t& v = data[a.buffer][a.offset + i];
      v = (a.tag == TensorTag::OUTPUT_EXISTING ? 0 : v * 3) + in_sum + i;
    }
  }
}

std::vector<RandomTask> make_tasks(uint32_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
  std::vector<RandomTask> tasks(n);
  for (uint32_t k = 0; k < n; ++k) {
    RandomTask& t = tasks[k];
    t.salt = k * 2654435761ull;
    const uint32_t inputs = pick(0, 2);
    for (uint32_t i = 0; i <= inputs; ++i) {
      Access a;
      a.buffer = pick(0, kBuffers - 1);
      // Mostly tile-aligned (disjoint or equal), sometimes unaligned (partial overlaps).
      a.len = pick(0, 3) == 0 ? pick(1, 24) : 16;
      a.offset = a.len == 16 && pick(0, 1) ? pick(0, kElems / 16 - 1) * 16 : pick(0, kElems - a.len);
      a.tag = i < inputs ? TensorTag::INPUT : (pick(0, 1) ? TensorTag::INOUT : TensorTag::OUTPUT_EXISTING);
      // One write per task; inputs must not overlap the write in a way that makes it ill-defined,
      // which is fine: inputs are read before the write in both executions.
      t.accesses.push_back(a);
    }
  }
  return tasks;
}

}  // namespace

TEST(RandomDagTest, TenThousandTasksMatchSequentialReference) {
  const uint32_t n = 10000;
  const auto tasks = make_tasks(n, 12345);

  // Sequential reference.
  std::vector<std::vector<uint64_t>> ref(kBuffers, std::vector<uint64_t>(kElems));
  for (uint32_t b = 0; b < kBuffers; ++b)
    for (uint32_t i = 0; i < kElems; ++i) ref[b][i] = b * 1000 + i;
  std::vector<uint64_t*> ref_ptrs;
  for (auto& v : ref) ref_ptrs.push_back(v.data());
  for (const auto& t : tasks) apply_task(t, ref_ptrs);

  // The same tasks through the runtime, on three SUB lanes.
  std::vector<HostBuffer> bufs;
  for (uint32_t b = 0; b < kBuffers; ++b) {
    bufs.emplace_back(kElems * sizeof(uint64_t));
    for (uint32_t i = 0; i < kElems; ++i) bufs.back().data_as<uint64_t>()[i] = b * 1000 + i;
  }
  Worker w(3, quick_options());
  for (int i = 0; i < 3; ++i) w.add_sub(ChildIsolation::THREAD);
  auto h = w.register_callable(sub_fn("dag.apply", [&](const SubCall& c) {
    const RandomTask& t = tasks[c.args().scalar_as<uint64_t>(0)];
    std::vector<uint64_t*> ptrs(kBuffers);
    // Rebase every access on the dispatched tensors' addresses (what the runtime handed over).
    for (size_t i = 0; i < t.accesses.size(); ++i)
      ptrs[t.accesses[i].buffer] = c.data_as<uint64_t>(i) - t.accesses[i].offset;
    apply_task(t, ptrs);
  }));
  w.init();
  w.run([&](Orchestrator& o) {
    for (uint32_t k = 0; k < n; ++k) {
      TaskArgs args;
      for (const Access& a : tasks[k].accesses)
        args.add(bufs[a.buffer].view(uint64_t{a.offset} * 8, {a.len}, DataType::UINT64), a.tag);
      args.scalar(uint64_t{k});
      o.submit_sub(h, std::move(args));
    }
  });
  for (uint32_t b = 0; b < kBuffers; ++b)
    for (uint32_t i = 0; i < kElems; ++i)
      ASSERT_EQ(bufs[b].data_as<uint64_t>()[i], ref[b][i]) << "buffer " << b << " element " << i;
  EXPECT_EQ(w.stats().tasks_completed, n);
  EXPECT_EQ(w.stats().live_slots, 0u);
}
