// Local node with real child processes: forked SUB workers and nested Workers reached through
// shared-memory mailboxes (runtime.md section 7, RT-103, RT-70x).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <numeric>

#include "../runtime/test_support.h"
#include "process_support.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

// Plain functions, so the static table (and post-init registration) can name them.
void add_one(const SubCall& c) {
  int64_t* v = c.data_as<int64_t>(0);
  for (uint64_t i = 0; i < c.args().tensor(0).numel(); ++i) v[i] += 1;
}

// Writes the child's pid into tensor 0, then sleeps for scalar 0 milliseconds.
void report_pid_and_sleep(const SubCall& c) {
  *c.data_as<int64_t>(0) = getpid();
  std::this_thread::sleep_for(std::chrono::milliseconds(c.args().scalar_as<int64_t>(0)));
}

void fail_always(const SubCall&) { throw std::runtime_error("sub callable failed on purpose"); }

// Sums every tensor's first int64 and every scalar into the last tensor.
void sum_everything(const SubCall& c) {
  int64_t s = 0;
  const size_t t = c.args().tensor_count();
  for (size_t i = 0; i + 1 < t; ++i) s += *c.data_as<int64_t>(i);
  for (size_t i = 0; i < c.args().scalar_count(); ++i) s += c.args().scalar_as<int64_t>(i);
  *c.data_as<int64_t>(t - 1) = s;
}

}  // namespace

ECHELON_TASK("test.process.static_add_one", SubFn(add_one));

TEST(ProcessLocal, L3DagEndToEnd) {
  HostBuffer buf(64 * sizeof(int64_t));
  Worker w(3, quick_options());
  w.add_sub();
  w.add_sub();
  auto inc = w.register_callable(NativeCallable::inproc("test.process.add_one", SubFn(add_one)));
  w.init();
  ASSERT_EQ(w.child_pids().size(), 2u);
  for (int pid : w.child_pids()) EXPECT_NE(pid, getpid());
  w.run([&](Orchestrator& o) {
    for (int round = 0; round < 10; ++round)
      for (int q = 0; q < 4; ++q) o.submit_sub(inc, TaskArgs().inout(buf.view(q * 128, {16}, DataType::INT64)));
  });
  for (int i = 0; i < 64; ++i) EXPECT_EQ(buf.data_as<int64_t>()[i], 10) << i;
}

TEST(ProcessLocal, SubFailureIsTaskFailureWithChildText) {
  Worker w(3, quick_options());
  w.add_sub();
  auto bad = w.register_callable(NativeCallable::inproc("test.process.fail", SubFn(fail_always)));
  w.init();
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_sub(bad, TaskArgs{}); }); });
  EXPECT_NE(err.find("TASK_FAILURE"), std::string::npos) << err;
  EXPECT_NE(err.find("sub callable failed on purpose"), std::string::npos) << err;
  // A task failure is not an endpoint failure: the child keeps serving.
  EXPECT_THROW(w.run([&](Orchestrator& o) { o.submit_sub(bad, TaskArgs{}); }), RunError);
  EXPECT_EQ(w.child_pids().size(), 1u);
  EXPECT_FALSE(process_gone(w.child_pids()[0]));
}

TEST(ProcessLocal, MailboxFrameAtMaximumTensorCount) {
  HostBuffer buf(MAX_TENSORS * 64);
  for (size_t i = 0; i < MAX_TENSORS; ++i) buf.data_as<int64_t>()[i * 8] = static_cast<int64_t>(i);
  Worker w(3, quick_options());
  w.add_sub();
  auto sum = w.register_callable(NativeCallable::inproc("test.process.sum", SubFn(sum_everything)));
  w.init();
  w.run([&](Orchestrator& o) {
    TaskArgs a;
    for (size_t i = 0; i + 1 < MAX_TENSORS; ++i) a.input(buf.view(i * 64, {1}, DataType::INT64));
    a.output_existing(buf.view((MAX_TENSORS - 1) * 64, {1}, DataType::INT64));
    for (size_t i = 0; i < MAX_SCALARS; ++i) a.scalar(int64_t{1000});
    o.submit_sub(sum, std::move(a));
  });
  const int64_t expect = (MAX_TENSORS - 2) * (MAX_TENSORS - 1) / 2 + 1000 * int64_t{MAX_SCALARS};
  EXPECT_EQ(buf.data_as<int64_t>()[(MAX_TENSORS - 1) * 8], expect);
}

TEST(ProcessLocal, KilledChildBecomesEndpointFailure) {
  HostBuffer pids(2 * 64);
  Worker w(3, quick_options());
  w.add_sub();
  w.add_sub();
  auto sleeper = w.register_callable(NativeCallable::inproc("test.process.sleeper", SubFn(report_pid_and_sleep)));
  auto inc = w.register_callable(NativeCallable::inproc("test.process.add_one_b", SubFn(add_one)));
  w.init();
  RunHandle h = w.submit([&](Orchestrator& o) {
    o.submit_sub(sleeper, TaskArgs().output_existing(pids.view(0, {1}, DataType::INT64)).scalar(int64_t{60000}));
  });
  ASSERT_TRUE(eventually([&] { return pids.data_as<int64_t>()[0] != 0; }));
  const pid_t victim = static_cast<pid_t>(pids.data_as<int64_t>()[0]);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const std::string err = what_of([&] { h.wait(10); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << "failure must be bounded";
  EXPECT_NE(err.find("ENDPOINT_FAILURE"), std::string::npos) << err;
  EXPECT_NE(err.find("killed by signal 9"), std::string::npos) << err;
  // The rest of the node keeps running on the surviving SUB worker.
  HostBuffer buf(64);
  w.run([&](Orchestrator& o) {
    for (int i = 0; i < 5; ++i) o.submit_sub(inc, TaskArgs().inout(buf.view(0, {1}, DataType::INT64)));
  });
  EXPECT_EQ(buf.data_as<int64_t>()[0], 5);
}

TEST(ProcessLocal, HungChildHitsTaskTimeoutAndIsKilled) {
  HostBuffer pids(64);
  WorkerOptions o = quick_options();
  o.task_timeout_s = 0.3;
  Worker w(3, o);
  w.add_sub();
  auto sleeper = w.register_callable(NativeCallable::inproc("test.process.sleeper2", SubFn(report_pid_and_sleep)));
  w.init();
  const std::string err = what_of([&] {
    w.run([&](Orchestrator& orch) {
      orch.submit_sub(sleeper, TaskArgs().output_existing(pids.view(0, {1}, DataType::INT64)).scalar(int64_t{60000}));
    });
  });
  EXPECT_NE(err.find("task timeout"), std::string::npos) << err;
  const int pid = static_cast<int>(pids.data_as<int64_t>()[0]);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(all_gone({pid}, 5)) << "the hung child must be killed";
}

TEST(ProcessLocal, PostInitRegisterNeedsTheStaticTable) {
  HostBuffer buf(64);
  Worker w(3, quick_options());
  w.add_sub();
  w.add_sub();
  w.init();
  // Known to the children (static table): installs on every SUB and dispatches.
  auto h = w.register_callable(NativeCallable::inproc("test.process.static_add_one", SubFn(add_one)));
  w.run([&](Orchestrator& o) { o.submit_sub(h, TaskArgs().inout(buf.view(0, {1}, DataType::INT64))); });
  EXPECT_EQ(buf.data_as<int64_t>()[0], 1);
  // Created after the children were forked: they cannot resolve it, nothing is installed.
  const std::string err = what_of([&] {
    w.register_callable(NativeCallable::inproc(unique_name("late"), SubFn(fail_always)));
  });
  EXPECT_EQ(err.rfind("REGISTER_PARTIAL_FAILURE", 0), 0u) << err;
  EXPECT_NE(err.find("NOT_FOUND"), std::string::npos) << err;
  // Unregister, then dispatch is rejected at submit.
  w.unregister(h);
  const std::string rej = what_of([&] {
    w.run([&](Orchestrator& o) { o.submit_sub(h, TaskArgs().inout(buf.view(0, {1}, DataType::INT64))); });
  });
  EXPECT_EQ(rej.rfind("UNREGISTER_TOMBSTONE_ACTIVE", 0), 0u) << rej;
}

TEST(ProcessLocal, LocalL3ChildrenRunTwoLevelDag) {
  HostBuffer buf(2 * 64 * sizeof(int64_t));
  const auto leaf = NativeCallable::inproc("test.process.leaf", SubFn(add_one));
  Worker w(4, quick_options());
  for (int i = 0; i < 2; ++i)
    w.add_worker({quick_options(), [&](Worker& l3) {
                    l3.add_sub();
                    l3.add_sub();
                    l3.register_callable(leaf);
                  }});
  auto body = w.register_callable(NativeCallable::inproc(
      "test.process.body", OrchFn([](Orchestrator& o, const TaskArgs& a, const CallConfig&) {
        const CallableHandle h = o.callable(NativeCallable::inproc("test.process.leaf", SubFn(add_one)));
        const Tensor& t = a.tensor(0);
        for (int r = 0; r < 3; ++r)
          for (uint32_t q = 0; q < 4; ++q)
            o.submit_sub(h, TaskArgs().inout(Tensor::view(t.buffer, t.byte_offset + q * 128, {16}, DataType::INT64)));
      })));
  w.init();
  EXPECT_EQ(w.child_pids().size(), 2u);
  w.run([&](Orchestrator& o) {
    for (int c = 0; c < 2; ++c)
      o.submit_next_level(body, TaskArgs().inout(buf.view(c * 512, {64}, DataType::INT64)), {}, c);
  });
  for (int i = 0; i < 128; ++i) EXPECT_EQ(buf.data_as<int64_t>()[i], 3) << i;
}

TEST(ProcessLocal, NestedErrorCarriesEveryLevel) {
  const auto leaf = NativeCallable::inproc("test.process.badleaf", SubFn(fail_always));
  Worker w(4, quick_options());
  w.add_worker({quick_options(), [&](Worker& l3) {
                  l3.add_sub();
                  l3.register_callable(leaf);
                }});
  auto body = w.register_callable(NativeCallable::inproc(
      "test.process.badbody", OrchFn([](Orchestrator& o, const TaskArgs&, const CallConfig&) {
        o.submit_sub(o.callable(NativeCallable::inproc("test.process.badleaf", SubFn(fail_always))), TaskArgs{});
      })));
  w.init();
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_next_level(body, TaskArgs{}, {}, 0); }); });
  EXPECT_NE(err.find("worker=0 level=3"), std::string::npos) << err;
  EXPECT_NE(err.find("worker=sub0"), std::string::npos) << err;
  EXPECT_NE(err.find("sub callable failed on purpose"), std::string::npos) << err;
}

TEST(ProcessLocal, ChildExitDuringInitRollsBackEverything) {
  std::vector<int> started;
  {
  HostBuffer pids(8 * 64);
  Worker w(4, quick_options());
  for (int i = 0; i < 3; ++i) {
    ChildWorkerConfig c;
    c.options = quick_options();
    c.setup = [](Worker& l3) { l3.add_sub(); };
    c.child_init = [&pids, i] {
      pids.data_as<int64_t>()[i * 8] = getpid();
      if (i == 1) throw std::runtime_error("refusing to start on purpose");
    };
    w.add_worker(c);
  }
  const std::string err = what_of([&] { w.init(); });
  EXPECT_NE(err.find("worker 1"), std::string::npos) << err;
  EXPECT_NE(err.find("refusing to start on purpose"), std::string::npos) << err;
  for (int i = 0; i < 3; ++i)
    if (pids.data_as<int64_t>()[i * 8]) started.push_back(static_cast<int>(pids.data_as<int64_t>()[i * 8]));
  }
  EXPECT_FALSE(started.empty());
  EXPECT_TRUE(all_gone(started)) << "every child of the failed init is killed and reaped";
  EXPECT_TRUE(echelon_shm_entries().empty());
}

TEST(ProcessLocal, HungChildTripsStartupDeadline) {
  WorkerOptions o = quick_options();
  o.startup_timeout_s = 0.5;
  HostBuffer pids(64);
  Worker w(4, o);
  ChildWorkerConfig c;
  c.child_init = [&pids] {
    pids.data_as<int64_t>()[0] = getpid();
    std::this_thread::sleep_for(std::chrono::seconds(60));
  };
  w.add_worker(c);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string err = what_of([&] { w.init(); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(err.find("startup deadline"), std::string::npos) << err;
  EXPECT_TRUE(all_gone({static_cast<int>(pids.data_as<int64_t>()[0])}));
}

TEST(ProcessLocal, CloseReapsEverything) {
  std::vector<int> pids;
  {
    Worker w(4, quick_options());
    w.add_worker({quick_options(), [](Worker& l3) {
                    l3.add_sub();
                    l3.add_sub();
                  }});
    w.add_sub();
    w.init();
    pids = w.child_pids();
    ASSERT_EQ(pids.size(), 2u);
    w.close();
  }
  EXPECT_TRUE(all_gone(pids));
  EXPECT_TRUE(echelon_shm_entries().empty());
}

TEST(ProcessLocal, ChildrenDieWithKilledParent) {
  // A separate parent process builds a node, reports its children's pids, then is SIGKILLed.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    close(fds[0]);
    Worker w(3, quick_options());
    w.add_sub();
    w.add_sub();
    w.init();
    std::vector<int> pids = w.child_pids();
    int32_t n = static_cast<int32_t>(pids.size());
    (void)!write(fds[1], &n, sizeof n);
    (void)!write(fds[1], pids.data(), pids.size() * sizeof(int));
    pause();
    _exit(0);
  }
  close(fds[1]);
  int32_t n = 0;
  ASSERT_EQ(read(fds[0], &n, sizeof n), static_cast<ssize_t>(sizeof n));
  std::vector<int> pids(static_cast<size_t>(n));
  ASSERT_EQ(read(fds[0], pids.data(), pids.size() * sizeof(int)), static_cast<ssize_t>(pids.size() * sizeof(int)));
  close(fds[0]);
  ASSERT_EQ(pids.size(), 2u);
  kill(parent, SIGKILL);
  waitpid(parent, nullptr, 0);
  EXPECT_TRUE(all_gone(pids, 5)) << "children must not outlive their parent";
}

TEST(ProcessLocal, ForkGuardRejectsMultithreadedFork) {
  std::atomic<bool> stop{false};
  std::thread other([&] {
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  Worker w(3, quick_options());
  w.add_sub();
  const std::string err = what_of([&] { w.init(); });
  stop = true;
  other.join();
  EXPECT_NE(err.find("fork guard"), std::string::npos) << err;
}

TEST(ProcessLocal, PartialRegisterFailureRollsBack) {
  // One child on a thread (it shares this process's callable table) and one child process
  // (forked before the callable existed): the first confirms, the second refuses.
  Worker w(4, quick_options());
  const WorkerId threaded = w.add_worker({.options = quick_options(), .isolation = ChildIsolation::THREAD});
  w.add_worker({.options = quick_options()});
  w.init();
  const auto late = NativeCallable::inproc(
      unique_name("partial"), OrchFn([](Orchestrator&, const TaskArgs&, const CallConfig&) {}));
  const std::string err = what_of([&] { w.register_callable(late); });
  EXPECT_EQ(err.rfind("REGISTER_PARTIAL_FAILURE", 0), 0u) << err;
  EXPECT_NE(err.find("worker 1"), std::string::npos) << err;
  EXPECT_NE(err.find("1 of 2 children confirmed, rolled back"), std::string::npos) << err;
  // The callable never became a handle on this Worker, so nothing can be submitted with it.
  EXPECT_THROW(w.run([&](Orchestrator& o) { o.submit_next_level(o.callable(late), TaskArgs{}, {}, threaded); }),
               CallableError);
}
