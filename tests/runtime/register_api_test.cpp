// The Worker's remote registration API against fake remote endpoints that keep a runner's
// prepared/live tables (callables.md 5-7: CALL-12, -13, -14, -16, -21).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "remote_fixture.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

using RegisterApi = RemoteFixture;
using SubmitValidation = RemoteFixture;
using RemoteRegisterFake = RemoteFixture;

const RemoteCallable& entry() {
  static const RemoteCallable c = RemoteCallable::native("demo:entry");
  return c;
}

bool has(const std::vector<Digest>& v, const Digest& d) { return std::find(v.begin(), v.end(), d) != v.end(); }

size_t register_controls(RemoteBook& b) {
  return b.count("PREPARE_REGISTER_CALLABLE") + b.count("COMMIT_REGISTER_CALLABLE") +
         b.count("ABORT_REGISTER_CALLABLE") + b.count("UNREGISTER_CALLABLE");
}

}  // namespace

TEST_F(RegisterApi, RemoteRequiresExplicitRemoteWorkers) {
  struct Row {
    std::vector<WorkerId> workers;
    const char* rule;
  };
  const Row rows[] = {
      {{}, "explicit, non-empty list"},
      {{r0, r0}, "lists worker 0 twice"},
      {{-1}, "worker id -1 is negative"},
      {{local}, "is not a remote worker"},
      {{99}, "worker 99 is not a remote worker"},
  };
  for (const Row& row : rows) {
    const std::string what = what_of([&] { w.register_callable(entry(), row.workers); });
    EXPECT_NE(what.find(row.rule), std::string::npos) << what;
    const std::string inner = what_of([&] { w.register_inner(entry(), row.workers); });
    EXPECT_NE(inner.find(row.rule), std::string::npos) << inner;
  }
  for (auto* b : {&book0, &book1, &book2}) EXPECT_EQ(register_controls(**b), 0u);  // nothing was sent
}

TEST(RegisterApiLevels, RemoteNeedsALevel4WorkerWithRemoteWorkers) {
  Worker l3(3, quick_options());
  EXPECT_NE(what_of([&] { l3.register_callable(entry(), {0}); }).find("level >= 4"), std::string::npos);
  Worker l4(4, quick_options());
  const WorkerId local = l4.add_worker({.isolation = ChildIsolation::THREAD});
  EXPECT_NE(what_of([&] { l4.register_callable(entry(), {local}); }).find("no remote worker was added"),
            std::string::npos);
}

TEST_F(RegisterApi, PostInitRegistrationIsTwoPhaseOnExactlyTheNamedWorkers) {
  const CallableHandle h = w.register_callable(entry(), {r2, r0});
  EXPECT_EQ(h.workers(), (std::vector<WorkerId>{r0, r2}));
  EXPECT_EQ(h.target_namespace(), TargetNamespace::REMOTE_TASK_DISPATCHER);
  const Digest d = entry().identity().digest;
  EXPECT_TRUE(has(book0->live, d));
  EXPECT_TRUE(has(book2->live, d));
  EXPECT_EQ(register_controls(*book1), 0u);
  // The pair went through PREPARE then COMMIT and nothing else.
  EXPECT_EQ(book0->log_copy(), (std::vector<std::string>{"PREPARE_REGISTER_CALLABLE", "COMMIT_REGISTER_CALLABLE"}));
  EXPECT_EQ(w.callable_state(r0, h.hashid()).state, PairState::INSTALLED);
  EXPECT_EQ(w.callable_state(r1, h.hashid()).state, PairState::ABSENT);
  // A TASK sent after the return runs there, behind the COMMIT on the lane.
  w.run([&](Orchestrator& o) { o.submit_next_level(h, TaskArgs(), {}, r2); });
  EXPECT_EQ(book2->log_copy().back(), "TASK");
}

TEST_F(RegisterApi, HandleLookedUpByHashidRuns) {
  const CallableHandle h = w.register_callable(entry(), {r1});
  w.run([&](Orchestrator& o) {
    const CallableHandle found = o.callable(h.hashid());
    EXPECT_EQ(found.workers(), (std::vector<WorkerId>{r1}));
    o.submit_next_level(found, TaskArgs(), {}, r1);
  });
  EXPECT_EQ(book1->count("TASK"), 1u);
}

TEST_F(RegisterApi, DuplicateRegisterSharesPairState) {
  const CallableHandle a = w.register_callable(entry(), {r0});
  const CallableHandle b = w.register_callable(entry(), {r0});
  EXPECT_EQ(book0->count("PREPARE_REGISTER_CALLABLE"), 1u);
  EXPECT_EQ(w.callable_state(r0, a.hashid()).handle_refs, 2u);
  w.unregister(a);
  EXPECT_EQ(book0->count("UNREGISTER_CALLABLE"), 0u);
  w.run([&](Orchestrator& o) { o.submit_next_level(b, TaskArgs(), {}, r0); });
  EXPECT_EQ(book0->count("TASK"), 1u);
}

TEST_F(RegisterApi, PartialFailureLeavesNothingInstalled) {
  book2->fail("PREPARE_REGISTER_CALLABLE");
  const std::string what = what_of([&] { w.register_callable(entry(), {r0, r2}); });
  EXPECT_EQ(what.rfind("REGISTER_PARTIAL_FAILURE", 0), 0u) << what;
  EXPECT_NE(what.find("worker 3"), std::string::npos) << what;
  EXPECT_EQ(book0->count("ABORT_REGISTER_CALLABLE"), 1u);
  EXPECT_TRUE(book0->prepared.empty());
  EXPECT_TRUE(book0->live.empty());
  EXPECT_EQ(w.callable_state(r0, entry().hashid()).state, PairState::ABSENT);
  // Nothing is left to block a retry.
  EXPECT_NO_THROW(w.register_callable(entry(), {r0, r2}));
}

TEST_F(SubmitValidation, TargetOutsideWorkerListRejected) {
  const CallableHandle h = w.register_callable(entry(), {r0});
  w.run([&](Orchestrator& o) {
    const std::string what = what_of([&] { o.submit_next_level(h, TaskArgs(), {}, r1); });
    EXPECT_NE(what.find("not one of the workers the handle was registered for"), std::string::npos) << what;
  });
  EXPECT_EQ(book1->count("TASK"), 0u);
}

TEST_F(SubmitValidation, ForeignHandleRejected) {
  Worker other(4, quick_options());
  auto book = std::make_shared<RemoteBook>();
  const WorkerId id = other.add_endpoint([&](WorkerId i) { return std::make_unique<FakeRemoteEndpoint>(i, book); });
  other.init();
  const CallableHandle foreign = other.register_callable(entry(), {id});
  w.run([&](Orchestrator& o) {
    const std::string what = what_of([&] { o.submit_next_level(foreign, TaskArgs(), {}, r0); });
    EXPECT_NE(what.find("CALLABLE_HANDLE_MUTATED"), std::string::npos) << what;
  });
  EXPECT_NE(what_of([&] { w.unregister(foreign); }).find("CALLABLE_HANDLE_MUTATED"), std::string::npos);
}

TEST_F(SubmitValidation, UnregisteredHandleRejected) {
  const CallableHandle h = w.register_callable(entry(), {r0});
  w.unregister(h);
  EXPECT_EQ(book0->count("UNREGISTER_CALLABLE"), 1u);  // no slot held it: sent before unregister returned
  w.run([&](Orchestrator& o) {
    const std::string what = what_of([&] { o.submit_next_level(h, TaskArgs(), {}, r0); });
    EXPECT_NE(what.find("UNREGISTER_TOMBSTONE_ACTIVE"), std::string::npos) << what;
  });
  EXPECT_NE(what_of([&] { w.unregister(h); }).find("UNREGISTER_TOMBSTONE_ACTIVE"), std::string::npos);
}

TEST_F(RemoteRegisterFake, UnregisterDeferredBehindSubmittedTask) {
  const CallableHandle h = w.register_callable(entry(), {r0});
  book0->hold = true;
  RunHandle run = w.submit([&](Orchestrator& o) { o.submit_next_level(h, TaskArgs(), {}, r0); });
  // Wait until the task is on the fake, then drop the only handle.
  for (int i = 0; i < 2000 && book0->dispatch_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(book0->dispatch_count(), 1u);
  w.unregister(h);
  const CallableState held = w.callable_state(r0, h.hashid());
  EXPECT_EQ(held.state, PairState::TOMBSTONED);
  EXPECT_EQ(held.slot_refs, 1u);
  EXPECT_EQ(book0->count("UNREGISTER_CALLABLE"), 0u);  // the task was accepted: it keeps its callable
  EXPECT_NE(what_of([&] { w.register_callable(entry(), {r0}); }).find("REGISTER_TOMBSTONE_ACTIVE"), std::string::npos);
  book0->release();
  run.wait(10);
  // The wait for the run is a flush point: the final unregister went out after the task.
  const auto log = book0->log_copy();
  ASSERT_EQ(log.back(), "UNREGISTER_CALLABLE");
  EXPECT_EQ(log[log.size() - 2], "TASK");
  EXPECT_EQ(w.callable_state(r0, h.hashid()).state, PairState::ABSENT);
  EXPECT_NO_THROW(w.register_callable(entry(), {r0}));
}
