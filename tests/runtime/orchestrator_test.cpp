// Orchestrator: submit validation, dependency inference, outputs, scopes and runs (runtime.md 3).
#include <gtest/gtest.h>

#include "test_support.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

// A level-3 Worker with SUB lanes; `first` holds the first task so later submits can be inspected
// while it runs.
struct SubFixture {
  explicit SubFixture(int lanes = 2, WorkerOptions opts = quick_options()) : w(3, opts) {
    for (int i = 0; i < lanes; ++i) w.add_sub(ChildIsolation::THREAD);
    hold = w.register_callable(sub_fn("orch.hold", [this](const SubCall& c) {
      trace.push(c.args().scalar_as<int64_t>(0));
      gate.wait();
    }));
    mark = w.register_callable(sub_fn("orch.mark", [this](const SubCall& c) { trace.push(c.args().scalar_as<int64_t>(0)); }));
    w.init();
  }
  ~SubFixture() { gate.release(); }

  Worker w;
  Gate gate;
  Trace trace;
  CallableHandle hold, mark;
};

TaskArgs args_with(int64_t id, std::initializer_list<std::pair<Tensor, TensorTag>> tensors) {
  TaskArgs a;
  for (const auto& [t, tag] : tensors) a.add(t, tag);
  a.scalar(id);
  return a;
}

// Submits `first` holding the gate, then `second`, and returns second's state right after submit.
TaskState state_after(SubFixture& f, std::pair<Tensor, TensorTag> first, std::pair<Tensor, TensorTag> second) {
  TaskState st = TaskState::FREE;
  f.w.run([&](Orchestrator& o) {
    o.submit_sub(f.hold, args_with(1, {first}));
    const auto r = o.submit_sub(f.mark, args_with(2, {second}));
    st = o.state(r.task);
    f.gate.release();
  });
  return st;
}

}  // namespace

TEST(OrchestratorTest, RawWarWawAreOrdered) {
  HostBuffer b(4096);
  const Tensor x = b.view(0, {64}, DataType::FLOAT32);
  {
    SubFixture f;
    EXPECT_EQ(state_after(f, {x, TensorTag::OUTPUT_EXISTING}, {x, TensorTag::INPUT}), TaskState::PENDING) << "RAW";
  }
  {
    SubFixture f;
    EXPECT_EQ(state_after(f, {x, TensorTag::INPUT}, {x, TensorTag::OUTPUT_EXISTING}), TaskState::PENDING) << "WAR";
  }
  {
    SubFixture f;
    EXPECT_EQ(state_after(f, {x, TensorTag::INOUT}, {x, TensorTag::OUTPUT_EXISTING}), TaskState::PENDING) << "WAW";
  }
  {
    SubFixture f;
    EXPECT_NE(state_after(f, {x, TensorTag::INPUT}, {x, TensorTag::INPUT}), TaskState::PENDING) << "read/read";
  }
}

TEST(OrchestratorTest, DisjointViewsOfOneBackingDoNotSerialize) {
  HostBuffer b(4096);
  SubFixture f;
  EXPECT_NE(state_after(f, {b.view(0, {64}, DataType::FLOAT32), TensorTag::OUTPUT_EXISTING},
                        {b.view(256, {64}, DataType::FLOAT32), TensorTag::OUTPUT_EXISTING}),
            TaskState::PENDING);
  SubFixture g;
  EXPECT_EQ(state_after(g, {b.view(0, {64}, DataType::FLOAT32), TensorTag::OUTPUT_EXISTING},
                        {b.view(252, {64}, DataType::FLOAT32), TensorTag::INPUT}),
            TaskState::PENDING)
      << "partial overlap by one element";
}

TEST(OrchestratorTest, NoDepSkipsTracking) {
  HostBuffer b(4096);
  const Tensor x = b.view(0, {64}, DataType::FLOAT32);
  SubFixture f;
  EXPECT_NE(state_after(f, {x, TensorTag::OUTPUT_EXISTING}, {x, TensorTag::NO_DEP}), TaskState::PENDING);
  SubFixture g;
  EXPECT_NE(state_after(g, {x, TensorTag::NO_DEP}, {x, TensorTag::OUTPUT_EXISTING}), TaskState::PENDING);
}

TEST(OrchestratorTest, RawRunsAfterProducerAndSeesItsData) {
  HostBuffer b(4096);
  const Tensor x = b.view(0, {16}, DataType::INT32);
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  w.add_sub(ChildIsolation::THREAD);
  auto write = w.register_callable(sub_fn("orch.write", [](const SubCall& c) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int i = 0; i < 16; ++i) c.data_as<int32_t>(0)[i] = i * 7;
  }));
  std::atomic<int64_t> sum{0};
  auto read = w.register_callable(sub_fn("orch.read", [&](const SubCall& c) {
    int64_t s = 0;
    for (int i = 0; i < 16; ++i) s += c.data_as<int32_t>(0)[i];
    sum = s;
  }));
  w.init();
  w.run([&](Orchestrator& o) {
    o.submit_sub(write, TaskArgs().output_existing(x));
    o.submit_sub(read, TaskArgs().input(x));
  });
  EXPECT_EQ(sum.load(), 7 * (15 * 16 / 2));
}

TEST(OrchestratorTest, UnboundTensorOnlyLegalAsLocalOutput) {
  SubFixture f;
  const Tensor u = Tensor::unbound({8}, DataType::FLOAT32);
  for (TensorTag tag : {TensorTag::INPUT, TensorTag::INOUT, TensorTag::OUTPUT_EXISTING, TensorTag::NO_DEP}) {
    const std::string err = what_of([&] {
      f.w.run([&](Orchestrator& o) { o.submit_sub(f.mark, args_with(1, {{u, tag}})); });
    });
    EXPECT_NE(err.find("only an OUTPUT may be unbound"), std::string::npos) << to_string(tag) << ": " << err;
  }
}

TEST(OrchestratorTest, UnboundOutputIsMaterializedFromHeapRing) {
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  w.add_sub(ChildIsolation::THREAD);
  auto fill = w.register_callable(sub_fn("orch.fill", [](const SubCall& c) {
    for (int i = 0; i < 100; ++i) c.data_as<float>(0)[i] = static_cast<float>(i);
  }));
  std::atomic<double> total{0};
  auto sum = w.register_callable(sub_fn("orch.sum", [&](const SubCall& c) {
    double s = 0;
    for (int i = 0; i < 100; ++i) s += c.data_as<float>(0)[i];
    total = s;
  }));
  w.init();
  w.run([&](Orchestrator& o) {
    const auto r = o.submit_sub(fill, TaskArgs().output(Tensor::unbound({100}, DataType::FLOAT32)));
    ASSERT_EQ(r.outputs.size(), 1u);
    const Tensor& out = r.outputs[0];
    EXPECT_TRUE(out.bound());
    EXPECT_EQ(out.buffer.backend_kind, BackendKind::FORK_SHM);
    EXPECT_EQ(out.buffer.access, AccessMode::READWRITE);
    EXPECT_EQ(out.buffer.base_address() % 1024, 0u);
    o.submit_sub(sum, TaskArgs().input(out));
  });
  EXPECT_EQ(total.load(), 4950.0);
}

TEST(OrchestratorTest, ConsumerKeepsAutoOutputAlive) {
  // The producer's slot (and its heap slab) must outlive an inner scope while a consumer that was
  // submitted in the outer scope still has to read it.
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  Gate gate;
  auto fill = w.register_callable(sub_fn("orch.fill2", [](const SubCall& c) {
    for (int i = 0; i < 256; ++i) c.data_as<int32_t>(0)[i] = 5;
  }));
  std::atomic<int64_t> total{0};
  auto sum = w.register_callable(sub_fn("orch.sum2", [&](const SubCall& c) {
    gate.wait();
    int64_t s = 0;
    for (int i = 0; i < 256; ++i) s += c.data_as<int32_t>(0)[i];
    total = s;
  }));
  auto clobber = w.register_callable(sub_fn("orch.clobber", [](const SubCall& c) {
    for (int i = 0; i < 256; ++i) c.data_as<int32_t>(0)[i] = -1;
  }));
  w.init();
  w.run([&](Orchestrator& o) {
    Tensor produced;
    {
      auto s = o.scope();
      produced = o.submit_sub(fill, TaskArgs().output(Tensor::unbound({256}, DataType::INT32))).outputs[0];
      o.submit_sub(sum, TaskArgs().input(produced));
    }
    // New allocations in the same ring must not reuse the slab the consumer still reads.
    for (int i = 0; i < 8; ++i) {
      auto s = o.scope();
      o.submit_sub(clobber, TaskArgs().output(Tensor::unbound({256}, DataType::INT32)));
    }
    gate.release();
  });
  EXPECT_EQ(total.load(), 5 * 256);
}

TEST(OrchestratorTest, AllocSlotLivesUntilLastConsumer) {
  SubFixture f;
  f.w.run([&](Orchestrator& o) {
    const Tensor t = o.alloc({32}, DataType::FLOAT32);
    EXPECT_TRUE(t.bound());
    const auto r = o.submit_sub(f.mark, args_with(9, {{t, TensorTag::INPUT}}));
    EXPECT_NE(o.state(r.task), TaskState::PENDING) << "alloc() is a completed writer, not a live fanin";
  });
  EXPECT_TRUE(f.trace.contains(9));
  EXPECT_EQ(f.w.stats().live_slots, 0u);
}

TEST(OrchestratorTest, TagAccessMustBeGranted) {
  SubFixture f;
  HostBuffer ro(256, AccessMode::READ);
  const Tensor x = ro.view(0, {8}, DataType::FLOAT32);
  const std::string err = what_of([&] {
    f.w.run([&](Orchestrator& o) { o.submit_sub(f.mark, args_with(1, {{x, TensorTag::OUTPUT_EXISTING}})); });
  });
  EXPECT_NE(err.find("grants only READ"), std::string::npos) << err;
  EXPECT_NO_THROW(f.w.run([&](Orchestrator& o) { o.submit_sub(f.mark, args_with(1, {{x, TensorTag::INPUT}})); }));
}

TEST(OrchestratorTest, OverlappingWritesInOneTaskRejected) {
  SubFixture f;
  HostBuffer b(1024);
  const std::string err = what_of([&] {
    f.w.run([&](Orchestrator& o) {
      o.submit_sub(f.mark, args_with(1, {{b.view(0, {16}, DataType::FLOAT32), TensorTag::OUTPUT_EXISTING},
                                         {b.view(32, {16}, DataType::FLOAT32), TensorTag::INOUT}}));
    });
  });
  EXPECT_NE(err.find("write overlapping bytes"), std::string::npos) << err;
  // Overlapping reads are fine.
  EXPECT_NO_THROW(f.w.run([&](Orchestrator& o) {
    o.submit_sub(f.mark, args_with(1, {{b.view(0, {16}, DataType::FLOAT32), TensorTag::INPUT},
                                       {b.view(32, {16}, DataType::FLOAT32), TensorTag::INPUT}}));
  }));
}

TEST(OrchestratorTest, RejectedSubmitLeavesNoTrace) {
  SubFixture f;
  HostBuffer b(1024);
  f.w.run([&](Orchestrator& o) {
    const auto before = f.w.stats();
    EXPECT_THROW(o.submit_sub(f.mark, args_with(1, {{Tensor::unbound({4}, DataType::FLOAT32), TensorTag::INPUT}})),
                 SubmitError);
    const auto after = f.w.stats();
    EXPECT_EQ(after.live_slots, before.live_slots);
    EXPECT_EQ(after.tasks_submitted, before.tasks_submitted);
    // The run is not failed by a caught rejection: a later valid submit runs.
    o.submit_sub(f.mark, args_with(2, {{b.view(0, {4}, DataType::FLOAT32), TensorTag::INPUT}}));
  });
  EXPECT_TRUE(f.trace.contains(2));
}

TEST(OrchestratorTest, SubRejectsDeviceAndRemoteTensors) {
  SubFixture f;
  alignas(64) static uint8_t arena[256];
  BufferDescriptor dev = make_address_descriptor(BackendKind::DEVICE_MALLOC, AddressSpace::DEVICE, AccessMode::READWRITE,
                                                 new_local_identity(), sizeof arena, reinterpret_cast<uint64_t>(arena));
  BufferDescriptor rem;
  rem.magic = BufferDescriptor::MAGIC;
  rem.backend_kind = BackendKind::REMOTE_SIDECAR;
  rem.access = AccessMode::READWRITE;
  rem.identity = new_local_identity();
  rem.nbytes = 256;
  for (const BufferDescriptor& d : {dev, rem}) {
    const std::string err = what_of([&] {
      f.w.run([&](Orchestrator& o) {
        o.submit_sub(f.mark, args_with(1, {{Tensor::view(d, 0, {4}, DataType::FLOAT32), TensorTag::INPUT}}));
      });
    });
    EXPECT_NE(err.find("SUB tasks take host memory only"), std::string::npos) << err;
  }
}

TEST(OrchestratorTest, TaskRefIsRunScopedAndGenerationChecked) {
  SubFixture f;
  TaskRef first{};
  f.w.run([&](Orchestrator& o) { first = o.submit_sub(f.mark, args_with(1, {})).task; });
  f.w.run([&](Orchestrator& o) {
    EXPECT_THROW(o.state(first), UsageError) << "a ref of another run";
    const auto r = o.submit_sub(f.mark, args_with(2, {}));
    TaskRef stale = r.task;
    stale.generation += 7;
    EXPECT_EQ(o.state(stale), TaskState::CONSUMED);
  });
}

TEST(OrchestratorTest, TimedWaitCanRetry) {
  SubFixture f(1);
  RunHandle h = f.w.submit([&](Orchestrator& o) { o.submit_sub(f.hold, args_with(1, {})); });
  EXPECT_THROW(h.wait(0.05), TimeoutError);
  EXPECT_FALSE(h.done());
  f.gate.release();
  EXPECT_NO_THROW(h.wait(10));
  EXPECT_NO_THROW(h.wait(0));  // replays the same (successful) result
  EXPECT_TRUE(h.done());
}

TEST(OrchestratorTest, CallbackThrowCancelsUnstartedSlots) {
  SubFixture f(1);
  HostBuffer b(1024);
  const Tensor x = b.view(0, {4}, DataType::FLOAT32);
  RunHandle h = f.w.submit([&](Orchestrator& o) {
    o.submit_sub(f.hold, args_with(1, {{x, TensorTag::OUTPUT_EXISTING}}));
    ASSERT_TRUE(eventually([&] { return f.trace.contains(1); }));  // task 1 is RUNNING: it finishes
    o.submit_sub(f.mark, args_with(2, {{x, TensorTag::INPUT}}));  // pending on 1
    o.submit_sub(f.mark, args_with(3, {{x, TensorTag::INPUT}}));  // pending on 1
    throw std::logic_error("user code gave up");
  });
  f.gate.release();
  try {
    h.wait(10);
    FAIL() << "expected the orchestration function's exception";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "user code gave up");
  }
  EXPECT_EQ(f.trace.get(), std::vector<int64_t>{1}) << "unstarted slots were cancelled";
  EXPECT_EQ(f.w.stats().live_slots, 0u);
}

TEST(OrchestratorTest, SuccessorRunDispatchesAfterPredecessorTerminal) {
  SubFixture f(2);
  RunHandle r1 = f.w.submit([&](Orchestrator& o) { o.submit_sub(f.hold, args_with(1, {})); });
  RunHandle r2 = f.w.submit([&](Orchestrator& o) { o.submit_sub(f.mark, args_with(2, {})); });
  ASSERT_TRUE(eventually([&] { return f.trace.contains(1); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(f.trace.contains(2)) << "run 2 dispatched while run 1 was still open";
  f.gate.release();
  r1.wait(10);
  r2.wait(10);
  EXPECT_EQ(f.trace.get(), (std::vector<int64_t>{1, 2}));
}

TEST(OrchestratorTest, OrderEdgeFromFailedReaderDoesNotPoison) {
  SubFixture f(1);
  HostBuffer b(1024);
  const Tensor x = b.view(0, {4}, DataType::FLOAT32);
  Gate both_submitted;
  auto fail_read = f.w.register_callable(sub_fn("orch.failread", [&](const SubCall&) {
    both_submitted.wait();
    throw std::runtime_error("reader broke");
  }));
  f.gate.release();
  RunHandle h = f.w.submit([&](Orchestrator& o) {
    o.submit_sub(fail_read, args_with(1, {{x, TensorTag::INPUT}}));
    o.submit_sub(f.mark, args_with(2, {{x, TensorTag::OUTPUT_EXISTING}}));  // WAR: order edge
    both_submitted.release();
  });
  EXPECT_THROW(h.wait(10), RunError);
  EXPECT_TRUE(f.trace.contains(2)) << "an order edge from a failed source must not poison";
}

TEST(OrchestratorTest, FirstErrorWinsPerRun) {
  SubFixture f(1);
  auto fail = f.w.register_callable(sub_fn("orch.fail", [](const SubCall& c) {
    throw std::runtime_error(fmt::format("failure number {}", c.args().scalar_as<int64_t>(0)));
  }));
  const std::string err = what_of([&] {
    f.w.run([&](Orchestrator& o) {
      o.submit_sub(fail, args_with(1, {}));
      o.submit_sub(fail, args_with(2, {}));
    });
  });
  EXPECT_NE(err.find("failure number 1"), std::string::npos) << err;
  EXPECT_EQ(err.find("failure number 2"), std::string::npos) << err;
  // Errors never leak into the next run.
  EXPECT_NO_THROW(f.w.run([&](Orchestrator& o) { o.submit_sub(f.mark, args_with(3, {})); }));
}

TEST(OrchestratorTest, SubmitAfterFailureFailsFast) {
  SubFixture f(1);
  auto fail = f.w.register_callable(sub_fn("orch.fail2", [](const SubCall&) { throw std::runtime_error("root cause"); }));
  const std::string err = what_of([&] {
    f.w.run([&](Orchestrator& o) {
      o.submit_sub(fail, args_with(1, {}));
      ASSERT_TRUE(eventually([&] { return f.w.stats().tasks_failed > 0; }));
      o.submit_sub(f.mark, args_with(2, {}));  // throws the root error at once
      ADD_FAILURE() << "submit into a failed run did not throw";
    });
  });
  EXPECT_NE(err.find("root cause"), std::string::npos) << err;
  EXPECT_FALSE(f.trace.contains(2));
}

TEST(OrchestratorTest, PoisonedSlotReferencesRoot) {
  SubFixture f(1);
  HostBuffer b(1024);
  const Tensor x = b.view(0, {4}, DataType::FLOAT32);
  Gate g;
  auto fail = f.w.register_callable(sub_fn("orch.fail3", [&](const SubCall&) {
    g.wait();
    throw std::runtime_error("bad producer");
  }));
  TaskRef consumer{};
  RunHandle h = f.w.submit([&](Orchestrator& o) {
    o.submit_sub(fail, args_with(1, {{x, TensorTag::OUTPUT_EXISTING}}));
    consumer = o.submit_sub(f.mark, args_with(2, {{x, TensorTag::INPUT}})).task;
  });
  g.release();
  const std::string err = what_of([&] { h.wait(10); });
  EXPECT_NE(err.find("bad producer"), std::string::npos) << err;
  EXPECT_EQ(err.find("poisoned"), std::string::npos) << "the poison message never replaces the root: " << err;
  EXPECT_FALSE(f.trace.contains(2));
}

TEST(OrchestratorTest, FailedSlotRunsSameCleanup) {
  SubFixture f(1);
  auto fail = f.w.register_callable(sub_fn("orch.fail4", [](const SubCall&) { throw std::runtime_error("x"); }));
  for (int i = 0; i < 50; ++i) {
    EXPECT_THROW(f.w.run([&](Orchestrator& o) {
      o.submit_sub(fail, TaskArgs().output(Tensor::unbound({1024}, DataType::FLOAT32)));
    }),
                 RunError);
  }
  EXPECT_EQ(f.w.stats().live_slots, 0u) << "failed slots reach CONSUMED and release slot and heap";
}

TEST(ScopeTest, NestedScopesReleaseTheirOwnTasks) {
  SubFixture f(2);
  f.gate.release();
  f.w.run([&](Orchestrator& o) {
    const TaskRef outer = o.submit_sub(f.mark, args_with(1, {})).task;
    TaskRef inner{};
    {
      auto s = o.scope();
      EXPECT_EQ(o.scope_depth(), 2u);
      inner = o.submit_sub(f.mark, args_with(2, {})).task;
    }
    EXPECT_TRUE(eventually([&] { return o.state(inner) == TaskState::CONSUMED; })) << "inner scope released its task";
    EXPECT_TRUE(eventually([&] { return o.state(outer) == TaskState::COMPLETED; }));
    EXPECT_EQ(o.state(outer), TaskState::COMPLETED) << "the outer scope still holds its task";
  });
}

TEST(ScopeTest, DepthLimit) {
  SubFixture f(1);
  f.w.run([&](Orchestrator& o) {
    std::vector<ScopeGuard> scopes;
    for (size_t d = 1; d < 64; ++d) scopes.push_back(o.scope());
    EXPECT_EQ(o.scope_depth(), 64u);
    EXPECT_THROW(o.scope(), UsageError);
  });
}
