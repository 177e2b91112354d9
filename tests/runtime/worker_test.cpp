// Worker: levels, phases, ids, options, controls, close (runtime.md 1, 4.7, 5, 6, 8.7).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "endpoint/inprocess_endpoint.h"
#include "test_support.h"

using namespace echelon;
using namespace echelon::testing;

TEST(WorkerTest, AddChildValidatesLevelAndPhase) {
  EXPECT_THROW(Worker(2), ValidationError);
  EXPECT_THROW(Worker(7), ValidationError);
  Worker l3(3, quick_options());
  const std::string err = what_of([&] { l3.add_worker({.isolation = ChildIsolation::THREAD}); });
  EXPECT_NE(err.find("level-3"), std::string::npos) << err;
  l3.add_sub(ChildIsolation::THREAD);
  l3.init();
  EXPECT_THROW(l3.add_sub(), UsageError);
  Worker l4(4, quick_options());
  l4.add_worker({.isolation = ChildIsolation::THREAD});
  l4.init();
  EXPECT_THROW(l4.add_worker(), UsageError);
}

TEST(WorkerTest, WorkerIdsAreStableAcrossMixedAddOrder) {
  Worker w(4, quick_options());
  const WorkerId a = w.add_worker({.isolation = ChildIsolation::THREAD});
  w.add_sub(ChildIsolation::THREAD);
  const WorkerId b = w.add_endpoint([&](WorkerId id) {
    return std::make_unique<InProcessEndpoint>(InProcessEndpoint::default_caps(EndpointRole::NEXT_LEVEL, id, 3),
                                               [](const LocalEntry&, const TaskArgs&, const CallConfig&) {
                                                 throw std::runtime_error("worker 1 is not the target here");
                                               });
  });
  const WorkerId c = w.add_worker({.isolation = ChildIsolation::THREAD});
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(c, 2);
  Trace trace;
  auto probe = w.register_callable(orch_fn("worker.probe", [&](Orchestrator&, const TaskArgs& args, const CallConfig&) {
    trace.push(args.scalar_as<int64_t>(0));
  }));
  w.init();
  w.run([&](Orchestrator& o) { o.submit_next_level(probe, TaskArgs().scalar(int64_t{2}), {}, c); });
  EXPECT_EQ(trace.get(), std::vector<int64_t>{2});
}

TEST(WorkerTest, LevelDoesNotChangeSchedulingBehaviour) {
  auto run_on = [](int level) {
    Worker w(level, quick_options());
    w.add_sub(ChildIsolation::THREAD);
    Trace trace;
    auto h = w.register_callable(sub_fn("worker.lvl", [&](const SubCall& c) { trace.push(c.args().scalar_as<int64_t>(0)); }));
    w.init();
    HostBuffer b(1024);
    w.run([&](Orchestrator& o) {
      for (int i = 0; i < 20; ++i)
        o.submit_sub(h, TaskArgs().inout(b.view(static_cast<uint64_t>(i % 4) * 16, {4}, DataType::FLOAT32)).scalar(int64_t{i}));
    });
    return trace.get();
  };
  EXPECT_EQ(run_on(3), run_on(4));
}

TEST(WorkerTest, InvalidTimeoutsRejectedBeforeResources) {
  const double bad[] = {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()};
  double WorkerOptions::*knobs[] = {&WorkerOptions::alloc_timeout_s, &WorkerOptions::admission_timeout_s,
                                    &WorkerOptions::startup_timeout_s, &WorkerOptions::control_timeout_s,
                                    &WorkerOptions::close_grace_s};
  const char* names[] = {"alloc_timeout_s", "admission_timeout_s", "startup_timeout_s", "control_timeout_s", "close_grace_s"};
  for (size_t k = 0; k < std::size(knobs); ++k) {
    for (double v : bad) {
      WorkerOptions o;
      o.*knobs[k] = v;
      const std::string err = what_of([&] { Worker w(3, o); });
      EXPECT_NE(err.find(names[k]), std::string::npos) << names[k] << "=" << v << ": " << err;
    }
  }
  WorkerOptions o;
  o.task_timeout_s = -1;
  EXPECT_THROW(Worker(3, o), ValidationError);
  o.task_timeout_s = 0;  // 0 = none
  EXPECT_NO_THROW(Worker(3, o));
  o.plugin_dirs = {"relative/dir"};
  EXPECT_THROW(Worker(3, o), ValidationError);
}

TEST(WorkerTest, AdmissionTimeoutIsHonoured) {
  WorkerOptions o = quick_options();
  o.admission_depth = 1;
  o.admission_timeout_s = 0.1;
  Worker w(3, o);
  w.add_sub(ChildIsolation::THREAD);
  Gate gate;
  auto hold = w.register_callable(sub_fn("worker.adm", [&](const SubCall&) { gate.wait(); }));
  w.init();
  RunHandle r1 = w.submit([&](Orchestrator& orch) { orch.submit_sub(hold, TaskArgs{}); });
  const std::string err = what_of([&] { w.submit([](Orchestrator&) {}); });
  EXPECT_NE(err.find("admission_timeout_s"), std::string::npos) << err;
  gate.release();
  r1.wait(10);
  EXPECT_NO_THROW(w.run([](Orchestrator&) {}));
}

TEST(WorkerTest, DrainWaitsForAllRuns) {
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  w.add_sub(ChildIsolation::THREAD);
  std::atomic<int> ran{0};
  auto slow = w.register_callable(sub_fn("worker.slow", [&](const SubCall&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ran.fetch_add(1);
  }));
  w.init();
  w.submit([&](Orchestrator& o) {
    for (int i = 0; i < 4; ++i) o.submit_sub(slow, TaskArgs{});
  });
  w.submit([&](Orchestrator& o) {
    for (int i = 0; i < 4; ++i) o.submit_sub(slow, TaskArgs{});
  });
  w.drain(10);
  EXPECT_EQ(ran.load(), 8);
}

TEST(WorkerTest, DrainRaisesRootError) {
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  auto fail = w.register_callable(sub_fn("worker.fail", [](const SubCall&) { throw std::runtime_error("drained failure"); }));
  w.init();
  w.submit([&](Orchestrator& o) { o.submit_sub(fail, TaskArgs{}); });
  const std::string err = what_of([&] { w.drain(10); });
  EXPECT_NE(err.find("drained failure"), std::string::npos) << err;
}

// A run that failed and finished before drain() was called (its handle dropped unwaited) still has
// its error raised by drain(): runs dispatch in admission order (RT-321), so once the second run
// has returned the first is over, and drain() finds it among the finished ones, exactly once.
TEST(WorkerTest, DrainRaisesErrorOfARunThatAlreadyFinished) {
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  auto fail = w.register_callable(sub_fn("worker.fail_early", [](const SubCall&) { throw std::runtime_error("early failure"); }));
  auto ok = w.register_callable(sub_fn("worker.ok", [](const SubCall&) {}));
  w.init();
  w.submit([&](Orchestrator& o) { o.submit_sub(fail, TaskArgs{}); });
  w.run([&](Orchestrator& o) { o.submit_sub(ok, TaskArgs{}); });
  const std::string err = what_of([&] { w.drain(10); });
  EXPECT_NE(err.find("early failure"), std::string::npos) << err;
  EXPECT_EQ(what_of([&] { w.drain(10); }), "") << "an error is raised by one drain only";
  // A failed run whose handle was waited on reported its error there; drain() does not repeat it.
  RunHandle waited = w.submit([&](Orchestrator& o) { o.submit_sub(fail, TaskArgs{}); });
  EXPECT_NE(what_of([&] { waited.wait(10); }).find("early failure"), std::string::npos);
  w.run([&](Orchestrator& o) { o.submit_sub(ok, TaskArgs{}); });
  EXPECT_EQ(what_of([&] { w.drain(10); }), "");
}

TEST(WorkerTest, CloseWithInflightTaskFailsItAndReturns) {
  WorkerOptions o = quick_options();
  o.close_grace_s = 0.3;
  Worker w(3, o);
  w.add_sub(ChildIsolation::THREAD);
  // close() abandons the thread still inside the callable, and it leaves gate.wait() only after
  // this test has returned: the gate must outlive the test's stack frame.
  auto gate = std::make_shared<Gate>();
  auto hold = w.register_callable(sub_fn("worker.closehold", [gate](const SubCall&) { gate->wait(); }));
  w.init();
  RunHandle h = w.submit([&](Orchestrator& orch) {
    orch.submit_sub(hold, TaskArgs{});
    orch.submit_sub(hold, TaskArgs{});
  });
  ASSERT_TRUE(gate->wait_for_waiters(1));
  const auto t0 = std::chrono::steady_clock::now();
  w.close();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  const std::string err = what_of([&] { h.wait(5); });
  EXPECT_NE(err.find("ENDPOINT_FAILURE"), std::string::npos) << err;
  gate->release();
  EXPECT_THROW(w.submit([](Orchestrator&) {}), UsageError);
}

TEST(WorkerTest, TaskTimeoutFailsTheEndpoint) {
  WorkerOptions o = quick_options();
  o.task_timeout_s = 0.2;
  Worker w(4, o);
  w.add_worker({.isolation = ChildIsolation::THREAD});
  w.add_worker({.isolation = ChildIsolation::THREAD});
  Gate gate;
  auto hold = w.register_callable(orch_fn("worker.th", [&](Orchestrator&, const TaskArgs&, const CallConfig&) { gate.wait(); }));
  auto noop = w.register_callable(orch_fn("worker.noop", [](Orchestrator&, const TaskArgs&, const CallConfig&) {}));
  w.init();
  const std::string err = what_of([&] { w.run([&](Orchestrator& orch) { orch.submit_next_level(hold, TaskArgs{}, {}, 0); }); });
  EXPECT_NE(err.find("ENDPOINT_FAILURE"), std::string::npos) << err;
  EXPECT_NE(err.find("task timeout"), std::string::npos) << err;
  EXPECT_FALSE(w.health(0).ready);
  const std::string rej = what_of([&] { w.run([&](Orchestrator& orch) { orch.submit_next_level(noop, TaskArgs{}, {}, 0); }); });
  EXPECT_NE(rej.find("worker 0 is FAILED"), std::string::npos) << rej;
  EXPECT_NO_THROW(w.run([&](Orchestrator& orch) { orch.submit_next_level(noop, TaskArgs{}, {}, 1); }));
  gate.release();
}

TEST(EndpointTest, ControlIsOrderedAfterRunningTask) {
  Worker w(4, quick_options());
  w.add_worker({.isolation = ChildIsolation::THREAD});
  Gate gate;
  std::atomic<bool> task_done{false};
  auto hold = w.register_callable(orch_fn("ep.hold", [&](Orchestrator&, const TaskArgs&, const CallConfig&) {
    gate.wait();
    task_done = true;
  }));
  w.init();
  RunHandle h = w.submit([&](Orchestrator& o) { o.submit_next_level(hold, TaskArgs{}, {}, 0); });
  ASSERT_TRUE(gate.wait_for_waiters(1));
  std::atomic<bool> control_done{false};
  bool task_done_at_reply = false;
  std::thread t([&] {
    const ControlReply r = w.control(0, ControlRequest{"echo", {1, 2, 3}}, 10.0);
    task_done_at_reply = task_done.load();
    control_done = true;
    EXPECT_EQ(r.payload, (std::vector<uint8_t>{1, 2, 3}));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(control_done.load()) << "the control overtook the running task";
  gate.release();
  t.join();
  EXPECT_TRUE(task_done_at_reply);
  h.wait(10);
}

TEST(EndpointTest, ControlDeadlineIncludesQueueTime) {
  Worker w(4, quick_options());
  w.add_worker({.isolation = ChildIsolation::THREAD});
  Gate gate;
  auto hold = w.register_callable(orch_fn("ep.hold2", [&](Orchestrator&, const TaskArgs&, const CallConfig&) { gate.wait(); }));
  w.init();
  RunHandle h = w.submit([&](Orchestrator& o) { o.submit_next_level(hold, TaskArgs{}, {}, 0); });
  ASSERT_TRUE(gate.wait_for_waiters(1));
  const std::string err = what_of([&] { w.control(0, ControlRequest{"echo", {}}, 0.1); });
  EXPECT_NE(err.find("timed out before it started (no effect)"), std::string::npos) << err;
  EXPECT_TRUE(w.health(0).ready) << "a control that never started leaves the worker healthy";
  gate.release();
  h.wait(10);
  EXPECT_NO_THROW(w.control(0, ControlRequest{"echo", {}}, 10.0));
  EXPECT_THROW(w.control(0, ControlRequest{"no-such-control", {}}, 10.0), ControlError);
}

TEST(CallableTest, HandleIsBoundToItsWorker) {
  Worker a(3, quick_options()), b(3, quick_options());
  a.add_sub(ChildIsolation::THREAD);
  b.add_sub(ChildIsolation::THREAD);
  const auto fn = sub_fn("call.bound", [](const SubCall&) {});
  auto ha = a.register_callable(fn);
  auto hb = b.register_callable(fn);
  EXPECT_EQ(ha.hashid(), hb.hashid());
  a.init();
  b.init();
  const std::string err = what_of([&] { a.run([&](Orchestrator& o) { o.submit_sub(hb, TaskArgs{}); }); });
  EXPECT_EQ(err.rfind("CALLABLE_HANDLE_MUTATED", 0), 0u) << err;
  EXPECT_NE(err.find(hb.hashid()), std::string::npos) << err;
  CallableHandle forged;
  EXPECT_THROW(a.run([&](Orchestrator& o) { o.submit_sub(forged, TaskArgs{}); }), CallableError);
}

TEST(CallableTest, DuplicateRegisterSharesStateAndUnregisterKeepsOther) {
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  std::atomic<int> ran{0};
  const auto fn = sub_fn("call.dup", [&](const SubCall&) { ran.fetch_add(1); });
  auto h1 = w.register_callable(fn);
  w.init();
  auto h2 = w.register_callable(fn);
  EXPECT_EQ(h1.hashid(), h2.hashid());
  w.unregister(h1);
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_sub(h1, TaskArgs{}); }); });
  EXPECT_EQ(err.rfind("UNREGISTER_TOMBSTONE_ACTIVE", 0), 0u) << err;
  w.run([&](Orchestrator& o) { o.submit_sub(h2, TaskArgs{}); });
  EXPECT_EQ(ran.load(), 1);
  EXPECT_THROW(w.unregister(h1), CallableError);
}

TEST(CallableTest, InprocNameBindsOneFunction) {
  const std::string name = unique_name("call.once");
  NativeCallable::inproc(name, SubFn([](const SubCall&) {}));
  const std::string err = what_of([&] { NativeCallable::inproc(name, SubFn([](const SubCall&) {})); });
  EXPECT_EQ(err.rfind("HASHID_DESCRIPTOR_MISMATCH", 0), 0u) << err;
}

TEST(CallableTest, EligibilityErrorNamesCriterion) {
  // Worker 1 is a child that does not run in-process callables: it never installs them.
  Worker w(4, quick_options());
  w.add_worker({.isolation = ChildIsolation::THREAD});
  w.add_endpoint([](WorkerId id) {
    EndpointCaps caps = InProcessEndpoint::default_caps(EndpointRole::NEXT_LEVEL, id, 3);
    caps.callable_kinds = {CallableKind::CHIP_CALLABLE};
    caps.scopes = {TargetNamespace::LOCAL_CHIP};
    return std::make_unique<InProcessEndpoint>(caps, [](const LocalEntry&, const TaskArgs&, const CallConfig&) {});
  });
  auto h = w.register_callable(orch_fn("call.elig", [](Orchestrator&, const TaskArgs&, const CallConfig&) {}));
  auto sub = w.register_callable(sub_fn("call.subonly", [](const SubCall&) {}));
  w.init();
  w.run([&](Orchestrator& o) {
    std::string err = what_of([&] { o.submit_next_level(h, TaskArgs{}, {}, 1); });
    EXPECT_NE(err.find("callable not installed on worker 1"), std::string::npos) << err;
    EXPECT_NE(err.find("eligible workers {0}"), std::string::npos) << err;
    EXPECT_NE(err.find(h.hashid()), std::string::npos) << err;
    err = what_of([&] { o.submit_next_level(h, TaskArgs{}, {}, 7); });
    EXPECT_NE(err.find("target 7"), std::string::npos) << err;
    err = what_of([&] { o.submit_sub(sub, TaskArgs{}); });
    EXPECT_NE(err.find("no SUB workers"), std::string::npos) << err;
    err = what_of([&] { o.submit_next_level(sub, TaskArgs{}, {}, 0); });
    EXPECT_NE(err.find("callable not installed on worker 0"), std::string::npos) << err;
    EXPECT_EQ(w.stats().live_slots, 0u);
    o.submit_next_level(h, TaskArgs{}, {}, 0);
  });
}

TEST(CallableTest, PostInitRegisterInstallsEverywhere) {
  Worker w(4, quick_options());
  w.add_worker({.isolation = ChildIsolation::THREAD});
  w.add_worker({.isolation = ChildIsolation::THREAD});
  w.init();
  std::atomic<int> ran{0};
  auto h = w.register_callable(orch_fn("call.late", [&](Orchestrator&, const TaskArgs&, const CallConfig&) { ran.fetch_add(1); }));
  w.run([&](Orchestrator& o) {
    o.submit_next_level(h, TaskArgs{}, {}, 0);
    o.submit_next_level(h, TaskArgs{}, {}, 1);
  });
  EXPECT_EQ(ran.load(), 2);
}

TEST(NestedTest, LocalL3ChildRunsItsOwnDag) {
  Worker w(4, quick_options());
  std::atomic<int> sub_runs{0};
  const auto leaf = sub_fn("nested.leaf", [&](const SubCall& c) {
    c.data_as<int32_t>(0)[0] += 1;
    sub_runs.fetch_add(1);
  });
  for (int i = 0; i < 2; ++i) {
    w.add_worker({quick_options(),
                  [&](Worker& l3) {
                    l3.add_sub(ChildIsolation::THREAD);
                    l3.register_callable(leaf);
                  },
                  ChildIsolation::THREAD});
  }
  auto body = w.register_callable(orch_fn("nested.body", [&](Orchestrator& o, const TaskArgs& a, const CallConfig&) {
    const CallableHandle h = o.callable(leaf);
    for (int i = 0; i < 5; ++i) o.submit_sub(h, TaskArgs().inout(a.tensor(0)));  // serialised by INOUT
  }));
  w.init();
  HostBuffer b(256);
  w.run([&](Orchestrator& o) {
    o.submit_next_level(body, TaskArgs().inout(b.view(0, {1}, DataType::INT32)), {}, 0);
    o.submit_next_level(body, TaskArgs().inout(b.view(64, {1}, DataType::INT32)), {}, 1);
  });
  EXPECT_EQ(sub_runs.load(), 10);
  EXPECT_EQ(b.data_as<int32_t>()[0], 5);
  EXPECT_EQ(b.data_as<int32_t>()[16], 5);
}

TEST(NestedTest, InnerErrorBecomesParentTaskFailure) {
  Worker w(4, quick_options());
  const auto leaf = sub_fn("nested.bad", [](const SubCall&) { throw std::runtime_error("leaf exploded"); });
  w.add_worker({quick_options(),
                [&](Worker& l3) {
                  l3.add_sub(ChildIsolation::THREAD);
                  l3.register_callable(leaf);
                },
                ChildIsolation::THREAD});
  auto body = w.register_callable(orch_fn("nested.body2", [&](Orchestrator& o, const TaskArgs&, const CallConfig&) {
    o.submit_sub(o.callable(leaf), TaskArgs{});
  }));
  w.init();
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_next_level(body, TaskArgs{}, {}, 0); }); });
  EXPECT_NE(err.find("leaf exploded"), std::string::npos) << err;
  EXPECT_NE(err.find("worker=0 level=3"), std::string::npos) << err;
}

namespace {
// An endpoint whose hand-off always fails, as a broken transport would.
class RefusingEndpoint final : public WorkerEndpoint {
 public:
  explicit RefusingEndpoint(WorkerId id) : caps_(InProcessEndpoint::default_caps(EndpointRole::NEXT_LEVEL, id, 3)) {}
  const EndpointCaps& caps() const override { return caps_; }
  void attach(Waker*) override {}
  void submit(const DispatchRequest&) override { throw std::runtime_error("transport is down"); }
  size_t poll(std::vector<EndpointEvent>&) override { return 0; }
  EndpointHealth health() const override { return {}; }
  ControlReply control(const ControlRequest& r, Deadline) override { return ControlReply{r.name == "register", {}, {}, false}; }
  void request_stop(const std::string&) override {}
  void shutdown(Deadline) override {}

 private:
  EndpointCaps caps_;
};
}  // namespace

TEST(LaneTest, AdmissionRejectionBecomesEndpointFailure) {
  Worker w(4, quick_options());
  const WorkerId id = w.add_endpoint([](WorkerId i) { return std::make_unique<RefusingEndpoint>(i); });
  auto h = w.register_callable(orch_fn("lane.refused", [](Orchestrator&, const TaskArgs&, const CallConfig&) {}));
  w.init();
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_next_level(h, TaskArgs{}, {}, id); }); });
  EXPECT_NE(err.find("ENDPOINT_FAILURE"), std::string::npos) << err;
  EXPECT_NE(err.find("transport is down"), std::string::npos) << err;
  // The Scheduler survived: the Worker still runs work.
  EXPECT_NO_THROW(w.run([](Orchestrator&) {}));
}

TEST(LaneTest, StartRejectsWrongWorkerIdOrRole) {
  Worker w(4, quick_options());
  EXPECT_THROW(w.add_endpoint([](WorkerId i) { return std::make_unique<RefusingEndpoint>(i + 5); }), UsageError);
  EXPECT_THROW(w.add_endpoint([](WorkerId) { return std::unique_ptr<WorkerEndpoint>(); }), UsageError);
  EXPECT_THROW(w.add_sub_endpoint([] { return std::make_unique<RefusingEndpoint>(0); }), UsageError) << "not a SUB endpoint";
  EXPECT_EQ(w.add_endpoint([](WorkerId i) { return std::make_unique<RefusingEndpoint>(i); }), 0)
      << "a rejected factory does not consume an id";
}
