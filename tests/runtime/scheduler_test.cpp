// Scheduler: routing, groups, poisoning and parking (runtime.md 4, 8).
#include <gtest/gtest.h>

#include <map>

#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"

#include "test_support.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

// A level-4 Worker with `n` in-process level-3 children. The registered orchestration entries run
// on the child's thread: `hold` logs its scalar and waits on the gate, `mark` logs, `fail` throws.
struct L4Fixture {
  explicit L4Fixture(int n = 3, WorkerOptions opts = quick_options()) : w(4, opts) {
    for (int i = 0; i < n; ++i) w.add_worker({.isolation = ChildIsolation::THREAD});
    hold = w.register_callable(orch_fn("sched.hold", [this](Orchestrator&, const TaskArgs& a, const CallConfig&) {
      trace.push(a.scalar_as<int64_t>(0));
      gate.wait();
    }));
    mark = w.register_callable(orch_fn("sched.mark", [this](Orchestrator&, const TaskArgs& a, const CallConfig&) {
      trace.push(a.scalar_as<int64_t>(0));
    }));
    fail = w.register_callable(orch_fn("sched.fail", [this](Orchestrator&, const TaskArgs& a, const CallConfig&) {
      trace.push(a.scalar_as<int64_t>(0));
      throw std::runtime_error(fmt::format("task {} failed on purpose", a.scalar_as<int64_t>(0)));
    }));
    w.init();
  }
  ~L4Fixture() { gate.release(); }

  Worker w;
  Gate gate;
  Trace trace;
  CallableHandle hold, mark, fail;
};

TaskArgs id_args(int64_t id, std::initializer_list<std::pair<Tensor, TensorTag>> tensors = {}) {
  TaskArgs a;
  for (const auto& [t, tag] : tensors) a.add(t, tag);
  a.scalar(id);
  return a;
}

}  // namespace

TEST(SchedulerTest, BusyTargetDoesNotBlockAnotherWorkerQueue) {
  L4Fixture f(2);
  RunHandle h = f.w.submit([&](Orchestrator& o) {
    o.submit_next_level(f.hold, id_args(1), {}, 0);
    o.submit_next_level(f.mark, id_args(2), {}, 0);  // queued behind the held task on worker 0
    o.submit_next_level(f.mark, id_args(3), {}, 1);
  });
  EXPECT_TRUE(eventually([&] { return f.trace.contains(3); })) << "worker 1 was delayed by worker 0's queue";
  EXPECT_FALSE(f.trace.contains(2));
  f.gate.release();
  h.wait(10);
  EXPECT_LT(f.trace.index_of(1), f.trace.index_of(2));
}

TEST(SchedulerTest, GroupIsOneNodeWithPerMemberArgs) {
  L4Fixture f(3);
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> seen;  // (member scalar, group marker)
  auto member = f.w.register_callable(orch_fn("sched.member", [&](Orchestrator&, const TaskArgs& a, const CallConfig&) {
    std::lock_guard l(m);
    seen.emplace_back(a.scalar_as<int64_t>(0), a.scalar_as<int64_t>(1));
  }));
  f.w.run([&](Orchestrator& o) {
    std::vector<TaskArgs> args;
    for (int i = 0; i < 3; ++i) args.push_back(TaskArgs().scalar(int64_t{10 + i}).scalar(int64_t{77}));
    const auto r = o.submit_next_level_group(member, std::move(args), {}, {2, 0, 1});
    EXPECT_EQ(r.task.run_id, o.run_id());
  });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, int64_t>>{{10, 77}, {11, 77}, {12, 77}}));
}

TEST(SchedulerTest, GroupTargetsMustBeValidAndDistinct) {
  L4Fixture f(2);
  f.w.run([&](Orchestrator& o) {
    std::string err = what_of([&] { o.submit_next_level_group(f.mark, {id_args(1), id_args(2)}, {}, {0, 0}); });
    EXPECT_NE(err.find("appears twice"), std::string::npos) << err;
    err = what_of([&] { o.submit_next_level_group(f.mark, {id_args(1), id_args(2)}, {}, {0, 5}); });
    EXPECT_NE(err.find("target 5 is not a NEXT_LEVEL worker"), std::string::npos) << err;
    err = what_of([&] { o.submit_next_level(f.mark, id_args(1), {}, -1); });
    EXPECT_NE(err.find("target -1"), std::string::npos) << err;
    err = what_of([&] { o.submit_next_level_group(f.mark, {id_args(1)}, {}, {0, 1}); });
    EXPECT_NE(err.find("2 targets for 1 argument sets"), std::string::npos) << err;
  });
  EXPECT_EQ(f.w.stats().live_slots, 0u);
}

TEST(SchedulerTest, BlockedGroupReservesTargets) {
  // Worker 0 is busy; a group over {0, 1} waits for it. Singles for worker 1 submitted after the
  // group must not run ahead of it, or a steady stream of singles would starve the group.
  L4Fixture f(2);
  RunHandle h = f.w.submit([&](Orchestrator& o) {
    o.submit_next_level(f.hold, id_args(1), {}, 0);
    ASSERT_TRUE(eventually([&] { return f.trace.contains(1); }));  // worker 0 is busy now
    o.submit_next_level_group(f.mark, {id_args(100), id_args(101)}, {}, {0, 1});
    for (int i = 0; i < 5; ++i) o.submit_next_level(f.mark, id_args(200 + i), {}, 1);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(f.trace.size(), 1u) << "a single overtook the reserved group target";
  f.gate.release();
  h.wait(10);
  for (int i = 0; i < 5; ++i) EXPECT_LT(f.trace.index_of(101), f.trace.index_of(200 + i));
}

TEST(SchedulerTest, FailedProducerPoisonsDependents) {
  L4Fixture f(2);
  HostBuffer b(4096);
  const Tensor x = b.view(0, {8}, DataType::FLOAT32), y = b.view(64, {8}, DataType::FLOAT32);
  const std::string err = what_of([&] {
    f.w.run([&](Orchestrator& o) {
      o.submit_next_level(f.fail, id_args(1, {{x, TensorTag::OUTPUT_EXISTING}}), {}, 0);
      o.submit_next_level(f.mark, id_args(2, {{x, TensorTag::INPUT}, {y, TensorTag::OUTPUT_EXISTING}}), {}, 1);
      o.submit_next_level(f.mark, id_args(3, {{y, TensorTag::INPUT}}), {}, 0);
    });
  });
  EXPECT_EQ(f.trace.get(), std::vector<int64_t>{1}) << "chain of 3: one dispatch";
  EXPECT_NE(err.find("task 1 failed on purpose"), std::string::npos) << err;
  EXPECT_NE(err.find("TASK_FAILURE"), std::string::npos) << err;
  EXPECT_NE(err.find("worker=0"), std::string::npos) << err;
  EXPECT_NE(err.find("callable=" + f.fail.hashid()), std::string::npos) << err;
  EXPECT_EQ(f.w.stats().live_slots, 0u);
}

TEST(SchedulerTest, PoisonFlowsThroughADiamond) {
  L4Fixture f(3);
  HostBuffer b(4096);
  const Tensor a = b.view(0, {8}, DataType::FLOAT32), l = b.view(64, {8}, DataType::FLOAT32),
               r = b.view(128, {8}, DataType::FLOAT32);
  RunHandle h = f.w.submit([&](Orchestrator& o) {
    o.submit_next_level(f.hold, id_args(0), {}, 2);  // keeps worker 2 busy so the diamond is built first
    o.submit_next_level(f.fail, id_args(1, {{a, TensorTag::OUTPUT_EXISTING}}), {}, 2);
    o.submit_next_level(f.mark, id_args(2, {{a, TensorTag::INPUT}, {l, TensorTag::OUTPUT_EXISTING}}), {}, 0);
    o.submit_next_level(f.mark, id_args(3, {{a, TensorTag::INPUT}, {r, TensorTag::OUTPUT_EXISTING}}), {}, 1);
    o.submit_next_level(f.mark, id_args(4, {{l, TensorTag::INPUT}, {r, TensorTag::INPUT}}), {}, 0);
  });
  f.gate.release();
  EXPECT_THROW(h.wait(10), RunError);
  EXPECT_EQ(f.trace.get(), (std::vector<int64_t>{0, 1}));
}

TEST(SchedulerTest, GroupFailureWaitsForRunningMembers) {
  L4Fixture f(2);
  HostBuffer b(4096);
  const Tensor x = b.view(0, {8}, DataType::FLOAT32);
  auto mixed = f.w.register_callable(orch_fn("sched.mixed", [&](Orchestrator&, const TaskArgs& a, const CallConfig&) {
    const int64_t id = a.scalar_as<int64_t>(0);
    f.trace.push(id);
    if (id == 10) throw std::runtime_error("member 0 broke");
    f.gate.wait();
  }));
  RunHandle h = f.w.submit([&](Orchestrator& o) {
    o.submit_next_level_group(mixed, {id_args(10, {{x, TensorTag::OUTPUT_EXISTING}}), id_args(11)}, {}, {0, 1});
    o.submit_next_level(f.mark, id_args(20, {{x, TensorTag::INPUT}}), {}, 0);
  });
  ASSERT_TRUE(eventually([&] { return f.trace.contains(10) && f.trace.contains(11); }));
  EXPECT_THROW(h.wait(0.1), TimeoutError) << "the group is not terminal while member 1 runs";
  f.gate.release();
  const std::string err = what_of([&] { h.wait(10); });
  EXPECT_NE(err.find("member 0 broke"), std::string::npos) << err;
  EXPECT_FALSE(f.trace.contains(20)) << "the group's consumer must not run";
}

TEST(SchedulerTest, SkippedMembersNeverDispatch) {
  L4Fixture f(3);
  HostBuffer b(4096);
  const Tensor x = b.view(0, {8}, DataType::FLOAT32);
  EXPECT_THROW(f.w.run([&](Orchestrator& o) {
    o.submit_next_level(f.fail, id_args(1, {{x, TensorTag::OUTPUT_EXISTING}}), {}, 0);
    o.submit_next_level_group(f.mark, {id_args(2, {{x, TensorTag::INPUT}}), id_args(3), id_args(4)}, {}, {0, 1, 2});
  }),
               RunError);
  EXPECT_EQ(f.trace.get(), std::vector<int64_t>{1});
}

TEST(SchedulerTest, SubDispatchesWhileNextLevelSaturated) {
  Worker w(4, quick_options());
  w.add_worker({.isolation = ChildIsolation::THREAD});
  w.add_sub(ChildIsolation::THREAD);
  Gate gate;
  Trace trace;
  auto hold = w.register_callable(orch_fn("sched.nlhold", [&](Orchestrator&, const TaskArgs&, const CallConfig&) { gate.wait(); }));
  auto sub = w.register_callable(sub_fn("sched.sub", [&](const SubCall& c) { trace.push(c.args().scalar_as<int64_t>(0)); }));
  w.init();
  RunHandle h = w.submit([&](Orchestrator& o) {
    o.submit_next_level(hold, TaskArgs{}, {}, 0);
    o.submit_next_level(hold, TaskArgs{}, {}, 0);
    for (int i = 0; i < 10; ++i) o.submit_sub(sub, TaskArgs().scalar(int64_t{i}));
  });
  EXPECT_TRUE(eventually([&] { return trace.size() == 10; }));
  gate.release();
  h.wait(10);
}

TEST(SchedulerTest, SchedulerParksDuringLongTask) {
  L4Fixture f(1);
  RunHandle h = f.w.submit([&](Orchestrator& o) { o.submit_next_level(f.hold, id_args(1), {}, 0); });
  ASSERT_TRUE(eventually([&] { return f.trace.contains(1); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const uint64_t before = f.w.stats().scheduler_passes;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const uint64_t during = f.w.stats().scheduler_passes - before;
  f.gate.release();
  h.wait(10);
  EXPECT_LT(during, 20u) << "the scheduler spun while a task ran";
}

TEST(SchedulerTest, DependencyReleaseUsesConsumerTargetQueue) {
  // Each child runs on its own thread: learn them, then check that a consumer released by a
  // completion on worker 0 still runs on its named target, worker 2.
  L4Fixture f(3);
  HostBuffer b(4096);
  const Tensor x = b.view(0, {8}, DataType::FLOAT32);
  std::mutex m;
  std::map<int64_t, std::thread::id> thread_of;
  auto probe = f.w.register_callable(orch_fn("sched.probe", [&](Orchestrator&, const TaskArgs& a, const CallConfig&) {
    std::lock_guard l(m);
    thread_of[a.scalar_as<int64_t>(0)] = std::this_thread::get_id();
  }));
  f.w.run([&](Orchestrator& o) {
    for (int k = 0; k < 3; ++k) o.submit_next_level(probe, id_args(k), {}, k);
  });
  f.gate.release();
  f.w.run([&](Orchestrator& o) {
    o.submit_next_level(f.hold, id_args(1, {{x, TensorTag::OUTPUT_EXISTING}}), {}, 0);
    o.submit_next_level(probe, id_args(100, {{x, TensorTag::INPUT}}), {}, 2);
  });
  ASSERT_EQ(thread_of.size(), 4u);
  EXPECT_EQ(thread_of[100], thread_of[2]);
  EXPECT_NE(thread_of[100], thread_of[0]);
}

TEST(SchedulerTest, ConsumeIsIdempotentUnderRace) {
  // Many producers completing while consumers are wired: every slot is consumed exactly once, so
  // the live count returns to zero and nothing is freed twice.
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  w.add_sub(ChildIsolation::THREAD);
  std::atomic<int> ran{0};
  auto inc = w.register_callable(sub_fn("sched.inc", [&](const SubCall&) { ran.fetch_add(1); }));
  w.init();
  HostBuffer b(64 * 64);
  for (int round = 0; round < 20; ++round) {
    w.run([&](Orchestrator& o) {
      for (int i = 0; i < 200; ++i) {
        const Tensor t = b.view(static_cast<uint64_t>(i % 16) * 64, {16}, DataType::FLOAT32);
        o.submit_sub(inc, TaskArgs().add(t, i % 3 == 0 ? TensorTag::INOUT : TensorTag::INPUT));
      }
    });
  }
  EXPECT_EQ(ran.load(), 20 * 200);
  EXPECT_EQ(w.stats().live_slots, 0u);
}

TEST(SchedulerTest, ReservationStallWarnsOncePerEpisode) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  WorkerOptions o = quick_options();
  o.stall_warning_s = 0.2;
  {
    L4Fixture f(2, o);
    RunHandle h = f.w.submit([&](Orchestrator& orch) {
      orch.submit_next_level(f.hold, id_args(1), {}, 0);
      ASSERT_TRUE(eventually([&] { return f.trace.contains(1); }));
      orch.submit_next_level_group(f.mark, {id_args(100), id_args(101)}, {}, {0, 1});
      orch.submit_next_level(f.mark, id_args(200), {}, 1);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    f.gate.release();
    h.wait(10);
  }
  spdlog::set_default_logger(previous);
  int warnings = 0;
  for (const auto& line : sink->last_formatted())
    if (line.find("stall_warning_s") != std::string::npos) ++warnings;
  EXPECT_EQ(warnings, 1) << "one warning per stall episode";
}
