// Slot pool and heap rings (RT-305..307).
#include <gtest/gtest.h>

#include "runtime/heap_ring.h"
#include "runtime/slot_pool.h"
#include "test_support.h"

using namespace echelon;
using namespace echelon::testing;

TEST(RingTest, SlotReuseBumpsGeneration) {
  SlotPool pool(2);
  TaskSlot* a = pool.try_acquire();
  TaskSlot* b = pool.try_acquire();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(pool.try_acquire(), nullptr);
  const uint32_t idx = a->index, gen = a->generation;
  pool.release(*a);
  TaskSlot* c = pool.try_acquire();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->index, idx);
  EXPECT_EQ(c->generation, gen + 1);
}

TEST(RingTest, HeapReclaimIsFifoPerRing) {
  HeapRing ring(4 * HEAP_ALIGN);
  auto a = ring.allocate(1000), b = ring.allocate(1024), c = ring.allocate(2048);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a % HEAP_ALIGN, 0u);
  EXPECT_FALSE(ring.allocate(1)) << "ring is full";
  ring.release(*b);  // behind a live predecessor: frees nothing yet
  EXPECT_FALSE(ring.allocate(1));
  ring.release(*a);  // head goes: a and b reclaimed together
  auto d = ring.allocate(2048);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, 0u) << "wraps to the start once the head moved";
  ring.release(*c);
  ring.release(*d);
  EXPECT_EQ(ring.used(), 0u);
}

TEST(RingTest, HeapWrapChargesSkippedTail) {
  HeapRing ring(4 * HEAP_ALIGN);
  auto a = ring.allocate(3 * HEAP_ALIGN);
  ring.release(*a);
  auto b = ring.allocate(HEAP_ALIGN);  // ring empty again: starts at 0
  ASSERT_TRUE(b);
  auto c = ring.allocate(2 * HEAP_ALIGN);
  auto d = ring.allocate(2 * HEAP_ALIGN);  // only 1 KiB left at the end, head at 0: no room
  ASSERT_TRUE(c);
  EXPECT_FALSE(d);
}

TEST(RingTest, RingsReclaimIndependently) {
  // Two scopes at different depths allocate from different rings; a live slab in one ring never
  // blocks the other.
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  w.init();
  w.run([&](Orchestrator& o) {
    const Tensor outer = o.alloc({1024}, DataType::FLOAT32);
    for (int i = 0; i < 100; ++i) {
      auto s = o.scope();
      const Tensor inner = o.alloc({1024}, DataType::FLOAT32);
      EXPECT_NE(inner.buffer.base_address(), outer.buffer.base_address());
    }
  });
}

TEST(RingTest, TimeoutNamesResource) {
  WorkerOptions opts = quick_options();
  opts.max_live_tasks = 4;
  opts.alloc_timeout_s = 0.2;
  Worker w(3, opts);
  w.add_sub(ChildIsolation::THREAD);
  Gate gate;
  auto h = w.register_callable(sub_fn("ring.gate", [&](const SubCall&) { gate.wait(); }));
  w.init();
  const std::string err = what_of([&] {
    w.run([&](Orchestrator& o) {
      for (int i = 0; i < 4; ++i) o.submit_sub(h, TaskArgs{});
      try {
        o.submit_sub(h, TaskArgs{});
      } catch (const BackPressureTimeout&) {
        gate.release();
        throw;
      }
    });
  });
  gate.release();
  EXPECT_NE(err.find("max_live_tasks"), std::string::npos) << err;
  EXPECT_NE(err.find("all 4 task slots"), std::string::npos) << err;
}

TEST(RingTest, BackPressureThenReleaseUnblocks) {
  WorkerOptions opts = quick_options();
  opts.max_live_tasks = 4;
  Worker w(3, opts);
  w.add_sub(ChildIsolation::THREAD);
  Gate gate;
  std::atomic<int> ran{0};
  auto h = w.register_callable(sub_fn("ring.bp", [&](const SubCall&) {
    gate.wait();
    ran.fetch_add(1);
  }));
  w.init();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gate.release();
  });
  w.run([&](Orchestrator& o) {
    {
      auto s = o.scope();
      for (int i = 0; i < 4; ++i) o.submit_sub(h, TaskArgs{});
    }  // scope ended: the slots return once their tasks complete
    o.submit_sub(h, TaskArgs{});  // blocks until the gate opens and a slot is consumed
  });
  releaser.join();
  EXPECT_EQ(ran.load(), 5);
}

TEST(RingTest, OversizedRequestFailsAtOnce) {
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  w.init();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.alloc({64u << 20}, DataType::FLOAT32); }); });
  EXPECT_NE(err.find("heap ring"), std::string::npos) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}
