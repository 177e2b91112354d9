// The two-phase remote registration and the pair states (callables.md 6-7, CALL-16..22), driven
// through a scripted control port: every control sent is recorded, and each (worker, control) can
// be answered OK, refused, left unanswered (which fails that endpoint, as a real one does), or
// used to fail another endpoint mid-transaction.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "echelon/errors.h"
#include "runtime/callable_registry.h"
#include "runtime/register_transaction.h"
#include "runtime/remote_callables.h"
#include "wire/register_controls.h"

namespace echelon {
namespace {

enum class Answer { OK, REFUSE, UNANSWERED };

class ScriptedPort final : public ControlPort {
 public:
  ControlReply control(WorkerId worker, const ControlRequest& request, Deadline) override {
    sent.push_back(tag(worker, request.name));
    if (failed_[worker]) return ControlReply{false, {}, "endpoint FAILED", false};
    if (auto hook = on_send.find(tag(worker, request.name)); hook != on_send.end()) hook->second();
    Answer a = Answer::OK;
    if (auto it = script.find(tag(worker, request.name)); it != script.end()) a = it->second;
    switch (a) {
      case Answer::REFUSE: return ControlReply{false, {}, request.name + " answered REJECTED: scripted", false};
      case Answer::UNANSWERED:
        failed_[worker] = true;
        return ControlReply{false, {}, request.name + " timed out", true};
      case Answer::OK: break;
    }
    ControlReply ok{true, {}, {}, false};
    if (request.name == "PREPARE_REGISTER_CALLABLE" &&
        wire::decode_register_command(request.payload).kind == CallableKind::NATIVE_IMPORT) {
      Digest sha{};
      sha[0] = plugin_sha_byte.count(worker) ? plugin_sha_byte[worker] : 1;
      ok.payload.assign(sha.begin(), sha.end());
    }
    return ok;
  }
  bool failed(WorkerId worker) const override {
    auto it = failed_.find(worker);
    return it != failed_.end() && it->second;
  }
  void fail(WorkerId worker) { failed_[worker] = true; }

  static std::string tag(WorkerId w, const std::string& name) {
    static const std::map<std::string, std::string> shorthand = {{"PREPARE_REGISTER_CALLABLE", "P"},
                                                                 {"COMMIT_REGISTER_CALLABLE", "C"},
                                                                 {"ABORT_REGISTER_CALLABLE", "A"},
                                                                 {"UNREGISTER_CALLABLE", "U"}};
    auto it = shorthand.find(name);
    return (it == shorthand.end() ? name : it->second) + std::to_string(w);
  }

  std::vector<std::string> sent;
  std::map<std::string, Answer> script;             // "P1" -> answer
  std::map<std::string, std::function<void()>> on_send;  // runs before the answer
  std::map<WorkerId, uint8_t> plugin_sha_byte;

 private:
  std::map<WorkerId, bool> failed_;
};

using Sent = std::vector<std::string>;

const RemoteCallable& entry() {
  static const RemoteCallable c = RemoteCallable::native("demo:entry");
  return c;
}

RegisterTxnResult run(ScriptedPort& port, std::vector<WorkerId> workers, std::function<void()> publish = [] {}) {
  RegisterTxnConfig config;
  config.control_timeout_s = 1;
  return run_register_transaction(port, entry(), workers, config, publish);
}

std::vector<WorkerId> uncertain_workers(const RegisterTxnResult& r) {
  std::vector<WorkerId> out;
  for (const auto& u : r.uncertain) out.push_back(u.first);
  return out;
}

TEST(RegisterTxn, AllPrepareThenAllCommit) {
  ScriptedPort port;
  bool published = false;
  const auto r = run(port, {0, 1}, [&] { published = true; });
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(published);
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "C0", "C1"}));
}

TEST(RegisterTxn, PrepareErrorAbortsPrepared) {  // row 1
  ScriptedPort port;
  port.script["P1"] = Answer::REFUSE;
  const auto r = run(port, {0, 1, 2});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "A0"}));  // no prepare after the failure; only the prepared aborted
  EXPECT_TRUE(r.uncertain.empty());
  EXPECT_NE(r.error.find("REGISTER_PARTIAL_FAILURE"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("worker 1"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find(entry().hashid()), std::string::npos) << r.error;
}

TEST(RegisterTxn, PrepareTimeoutFailsEndpointAndAbortsOthers) {  // row 2
  ScriptedPort port;
  port.script["P1"] = Answer::UNANSWERED;
  const auto r = run(port, {0, 1, 2});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "A0"}));
  EXPECT_EQ(uncertain_workers(r), std::vector<WorkerId>{1});
}

TEST(RegisterTxn, CommitErrorAbortsAndUnregisters) {  // row 3
  ScriptedPort port;
  port.script["C1"] = Answer::REFUSE;
  const auto r = run(port, {0, 1, 2});
  EXPECT_FALSE(r.ok);
  // The failing worker is still prepared and is aborted with the one never committed; the
  // committed one is unregistered.
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "P2", "C0", "C1", "A1", "A2", "U0"}));
  EXPECT_TRUE(r.uncertain.empty());
}

TEST(RegisterTxn, CommitTimeoutFailsEndpointAndCleansOthers) {  // row 4
  ScriptedPort port;
  port.script["C1"] = Answer::UNANSWERED;
  const auto r = run(port, {0, 1, 2});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "P2", "C0", "C1", "A2", "U0"}));  // nothing more to worker 1
  EXPECT_EQ(uncertain_workers(r), std::vector<WorkerId>{1});
}

TEST(RegisterTxn, CleanupFailureIsPairScoped) {  // row 5
  ScriptedPort port;
  port.script["P2"] = Answer::REFUSE;
  port.script["A0"] = Answer::REFUSE;
  const auto r = run(port, {0, 1, 2});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "P2", "A0", "A1"}));
  EXPECT_EQ(uncertain_workers(r), std::vector<WorkerId>{0});
  EXPECT_NE(r.error.find("cleanup: worker 0: ABORT_REGISTER_CALLABLE failed"), std::string::npos) << r.error;
}

TEST(RegisterTxn, PublishFailureUnregistersCommitted) {  // row 6
  ScriptedPort port;
  const auto r = run(port, {0, 1}, [] { throw std::runtime_error("local table full"); });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "C0", "C1", "U0", "U1"}));
  EXPECT_NE(r.error.find("local table full"), std::string::npos) << r.error;
  EXPECT_TRUE(r.uncertain.empty());
}

TEST(RegisterTxn, EndpointLossDuringTxn) {  // row 7
  ScriptedPort port;
  port.on_send["P1"] = [&] { port.fail(2); };  // worker 2 dies (health expiry) while 1 prepares
  const auto r = run(port, {0, 1, 2});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "A0", "A1"}));  // nothing is sent to the failed worker
  EXPECT_EQ(uncertain_workers(r), std::vector<WorkerId>{2});
}

TEST(RegisterTxn, PluginDigestDriftWarnsOrAbortsWhenStrict) {
  ScriptedPort lenient;
  lenient.plugin_sha_byte[1] = 9;
  EXPECT_TRUE(run(lenient, {0, 1}).ok);

  ScriptedPort strict;
  strict.plugin_sha_byte[1] = 9;
  RegisterTxnConfig config;
  config.require_identical_plugins = true;
  const auto r = run_register_transaction(strict, entry(), {0, 1}, config, [] {});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("HASHID_DESCRIPTOR_MISMATCH", 0), 0u) << r.error;
  EXPECT_EQ(strict.sent, (Sent{"P0", "P1", "A0", "A1"}));
}

// --- pair states through RemoteCallables --------------------------------------------------------

class PairStates : public ::testing::Test {
 protected:
  PairStates() : callables(port, registry, wiring(), 1) {}
  RemoteCallables::Wiring wiring() {
    RemoteCallables::Wiring w;
    w.lane_of = [](WorkerId id) { return static_cast<uint32_t>(id); };
    w.add_manifest_entry = [this](WorkerId id, RemoteRegistry, const RemoteCallable& c) {
      manifest.push_back(std::to_string(id) + ":" + c.target());
    };
    return w;
  }
  PairState state(WorkerId w, const RemoteCallable& c = entry()) {
    return callables.state(RemoteRegistry::DISPATCHER, w, c.identity().digest).state;
  }
  // Expects `fn` to throw CallableError whose text starts with `name` and mentions `what`.
  template <typename Fn>
  void expect_error(Fn fn, const std::string& name, const std::string& what) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected " << name;
    } catch (const CallableError& e) {
      const std::string text = e.what();
      EXPECT_EQ(text.rfind(name, 0), 0u) << text;
      EXPECT_NE(text.find(what), std::string::npos) << text;
    }
  }

  ScriptedPort port;
  CallableRegistry registry{42};
  RemoteCallables callables;
  std::vector<std::string> manifest;
};

TEST_F(PairStates, DuplicateRegisterSharesPairState) {
  const CallableHandle a = callables.register_dispatcher(entry(), {0, 1}, true, {});
  const CallableHandle b = callables.register_dispatcher(entry(), {0, 1}, true, {});
  EXPECT_NE(a.identity().digest, Digest{});
  EXPECT_EQ(a.hashid(), b.hashid());
  EXPECT_EQ(port.sent, (Sent{"P0", "P1", "C0", "C1"}));  // one PREPARE/COMMIT per pair
  EXPECT_EQ(callables.state(RemoteRegistry::DISPATCHER, 0, entry().identity().digest).handle_refs, 2u);
  callables.unregister(a, true);
  EXPECT_EQ(state(0), PairState::INSTALLED);
  EXPECT_EQ(port.sent.size(), 4u);  // no UNREGISTER while another handle holds the pairs
  EXPECT_NO_THROW(registry.resolve(b));
  expect_error([&] { callables.unregister(a, true); }, "UNREGISTER_TOMBSTONE_ACTIVE", a.hashid());
  // A registration naming an installed and a new worker runs the transaction for the new one only.
  const CallableHandle c = callables.register_dispatcher(entry(), {1, 2}, true, {});
  EXPECT_EQ(c.workers(), (std::vector<WorkerId>{1, 2}));
  EXPECT_EQ(Sent(port.sent.begin() + 4, port.sent.end()), (Sent{"P2", "C2"}));
}

TEST_F(PairStates, TombstoneBlocksRegisterUntilConfirmed) {
  const CallableHandle h = callables.register_dispatcher(entry(), {0}, true, {});
  std::string why;
  auto slot = registry.pairs().capture_slot(RemotePairKey{RemoteRegistry::DISPATCHER, 0, entry().identity().digest}, why);
  ASSERT_TRUE(slot) << why;
  callables.unregister(h, true);
  // A task slot still references the pair: tombstoned, nothing sent, no re-registration.
  EXPECT_EQ(state(0), PairState::TOMBSTONED);
  EXPECT_EQ(port.sent, (Sent{"P0", "C0"}));
  expect_error([&] { callables.register_dispatcher(entry(), {0}, true, {}); }, "REGISTER_TOMBSTONE_ACTIVE",
               "worker 0");
  std::string refused;
  EXPECT_FALSE(registry.pairs().capture_slot(RemotePairKey{RemoteRegistry::DISPATCHER, 0, entry().identity().digest},
                                             refused));
  EXPECT_EQ(refused.rfind("REGISTER_TOMBSTONE_ACTIVE", 0), 0u) << refused;
  // The slot is consumed: the next flush sends the final unregister, whose OK removes the pair.
  registry.pairs().release_slot(*slot);
  callables.flush_due();
  EXPECT_EQ(port.sent, (Sent{"P0", "C0", "U0"}));
  EXPECT_EQ(state(0), PairState::ABSENT);
  EXPECT_NO_THROW(callables.register_dispatcher(entry(), {0}, true, {}));
  EXPECT_EQ(state(0), PairState::INSTALLED);
}

TEST_F(PairStates, FailedUnregisterKeepsTombstone) {
  const CallableHandle h = callables.register_dispatcher(entry(), {0, 1}, true, {});
  port.script["U0"] = Answer::REFUSE;
  EXPECT_NO_THROW(callables.unregister(h, true));  // a remote cleanup failure does not throw
  EXPECT_EQ(state(0), PairState::TOMBSTONED);
  EXPECT_NE(callables.state(RemoteRegistry::DISPATCHER, 0, entry().identity().digest).cause.find("scripted"),
            std::string::npos);
  EXPECT_EQ(state(1), PairState::ABSENT);  // the other pair was confirmed
  callables.flush_due();
  EXPECT_EQ(std::count(port.sent.begin(), port.sent.end(), "U0"), 1);  // never retried
  expect_error([&] { callables.register_dispatcher(entry(), {0}, true, {}); }, "REGISTER_TOMBSTONE_ACTIVE", "failed");
  EXPECT_NO_THROW(callables.register_dispatcher(entry(), {1}, true, {}));
}

TEST_F(PairStates, UncertainPairBlocksOnlyThatPair) {
  port.script["P1"] = Answer::REFUSE;
  port.script["A0"] = Answer::REFUSE;
  expect_error([&] { callables.register_dispatcher(entry(), {0, 1}, true, {}); }, "REGISTER_PARTIAL_FAILURE",
               "worker 1");
  EXPECT_EQ(state(0), PairState::CLEANUP_UNCERTAIN);
  EXPECT_EQ(state(1), PairState::ABSENT);
  EXPECT_EQ(registry.pairs().size(), 1u);
  port.script.clear();
  // Same hashid elsewhere, another hashid on the same worker: both fine.
  EXPECT_NO_THROW(callables.register_dispatcher(entry(), {1}, true, {}));
  const RemoteCallable other = RemoteCallable::native("demo:other");
  EXPECT_NO_THROW(callables.register_dispatcher(other, {0}, true, {}));
  const size_t before = port.sent.size();
  expect_error([&] { callables.register_dispatcher(entry(), {0, 1}, true, {}); }, "REGISTER_CLEANUP_UNCERTAIN",
               "worker 0");
  EXPECT_EQ(port.sent.size(), before);  // refused up front, nothing sent
}

TEST_F(PairStates, FailedEndpointTakesItsPairs) {
  callables.register_dispatcher(entry(), {0, 1}, true, {});
  port.fail(1);
  EXPECT_EQ(state(0), PairState::INSTALLED);
  const CallableState gone = callables.state(RemoteRegistry::DISPATCHER, 1, entry().identity().digest);
  EXPECT_EQ(gone.state, PairState::ABSENT);
  EXPECT_NE(gone.cause.find("worker 1 is FAILED"), std::string::npos) << gone.cause;
  const size_t before = port.sent.size();
  expect_error([&] { callables.register_dispatcher(RemoteCallable::native("demo:other"), {1}, true, {}); },
               "REGISTER_PARTIAL_FAILURE", "worker 1 is FAILED");
  EXPECT_EQ(port.sent.size(), before);  // nothing is sent to a failed endpoint
}

TEST_F(PairStates, PreInitRegistrationReachesOnlyNamedManifests) {
  const CallableHandle a = callables.register_dispatcher(entry(), {1}, false, {});
  const RemoteCallable other = RemoteCallable::native("demo:other");
  const CallableHandle b = callables.register_dispatcher(other, {0, 2}, false, {});
  callables.unregister(b, false);  // before init nothing was sent: the entry simply disappears
  const CallableHandle c = callables.register_dispatcher(other, {2}, false, {});
  callables.write_manifests();
  EXPECT_EQ(manifest, (std::vector<std::string>{"1:demo:entry", "2:demo:other"}));
  EXPECT_TRUE(port.sent.empty());
  EXPECT_EQ(state(1), PairState::INSTALLED);
  EXPECT_EQ(state(0, other), PairState::ABSENT);
}

TEST_F(PairStates, InnerRegistrationIsItsOwnRegistry) {
  const InnerRegistration inner = callables.register_inner(entry(), {0}, true, {});
  EXPECT_EQ(inner.hashid(), entry().hashid());
  EXPECT_EQ(callables.state(RemoteRegistry::INNER, 0, entry().identity().digest).state, PairState::INSTALLED);
  EXPECT_EQ(state(0), PairState::ABSENT);  // the dispatcher pair is a different pair
  // Its handle never exists: a dispatcher registration of the same hashid is a separate transaction.
  callables.register_dispatcher(entry(), {0}, true, {});
  EXPECT_EQ(port.sent, (Sent{"P0", "C0", "P0", "C0"}));
  callables.unregister(inner, true);
  EXPECT_EQ(port.sent.back(), "U0");
  EXPECT_EQ(callables.state(RemoteRegistry::INNER, 0, entry().identity().digest).state, PairState::ABSENT);
  EXPECT_EQ(state(0), PairState::INSTALLED);
  expect_error([&] { callables.unregister(inner, true); }, "UNREGISTER_TOMBSTONE_ACTIVE", inner.hashid());
}

}  // namespace
}  // namespace echelon
