// Remote callable registration end to end (callables.md 6, 7, 11, 13): a level-4 Worker, real
// daemons and runners on loopback, registrations after init() through PREPARE/COMMIT, unregister
// and tombstones, inner registrations reached through inner_handle, and partial failures produced
// by the runner's fault-injection switch (ECHELON_TEST_FAULT in the daemon's environment).
#include <array>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "chip_increment.h"
#include "echelon/errors.h"
#include "endpoint/remote_register_controls.h"
#include "remote_e2e_helpers.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"

namespace echelon::remote_e2e {
namespace {

class RemoteRegister : public DaemonTest {
 protected:
  // Is `c` committed in `worker`'s dispatcher? Asked with PREPARE_CALLABLE on the command lane.
  static bool committed(Worker& w, WorkerId worker, const RemoteCallable& c) {
    try {
      return w.control(worker, remote_controls::prepare_callable(c.kind(), c.identity().digest)).ok;
    } catch (const ControlError& e) {
      if (std::string(e.what()).find("PREPARE_CALLABLE answered NOT_FOUND") != std::string::npos) return false;
      throw;
    }
  }
  static std::string register_error(Worker& w, const RemoteCallable& c, std::vector<WorkerId> workers,
                                    RegisterOptions options = {}) {
    try {
      w.register_callable(c, std::move(workers), options);
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  }
};

// Four scalars carrying a digest, as the session plugin's inner entries read it.
void add_digest(TaskArgs& args, const Digest& d) {
  for (size_t i = 0; i < 4; ++i) {
    uint64_t word;
    std::memcpy(&word, d.data() + 8 * i, 8);
    args.add_scalar_bits(word);
  }
}

TEST_F(RemoteRegister, PostInitTwoPhaseRoundTrip) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  const WorkerId b = w.add_remote_worker(spec_for(daemon));
  w.init();
  const RemoteCallable noop = plugin_entry("session_noop");
  EXPECT_FALSE(committed(w, a, noop));  // nothing in the manifests
  const CallableHandle h = w.register_callable(noop, {a, b});
  EXPECT_TRUE(committed(w, a, noop));
  EXPECT_TRUE(committed(w, b, noop));
  // CALL-16: a TASK sent after the return finds the hashid on every named worker.
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) {
              o.submit_next_level(h, TaskArgs(), {}, a);
              o.submit_next_level(h, TaskArgs(), {}, b);
            }),
            "");
  EXPECT_EQ(w.callable_state(a, h.hashid()).state, PairState::INSTALLED);
  w.close();
}

TEST_F(RemoteRegister, ErrorCompletionRaisesRootError) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  w.init();
  const CallableHandle fail = w.register_callable(plugin_entry("session_always_fail"), {a});
  const std::string what = run_error(w, [&](Orchestrator& o) { o.submit_next_level(fail, TaskArgs(), {}, a); });
  EXPECT_NE(what.find("session test entry failed on purpose"), std::string::npos) << what;
  w.close();
}

TEST_F(RemoteRegister, UnregisterThenReregister) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  w.init();
  const RemoteCallable noop = plugin_entry("session_noop");
  const CallableHandle first = w.register_callable(noop, {a});
  const CallableHandle second = w.register_callable(noop, {a});  // shares the pair
  w.unregister(first);
  EXPECT_TRUE(committed(w, a, noop));  // CALL-13: the other handle keeps it dispatchable
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(second, TaskArgs(), {}, a); }), "");
  w.unregister(second);
  EXPECT_FALSE(committed(w, a, noop));  // the runner removed it before unregister returned
  EXPECT_EQ(w.callable_state(a, noop.hashid()).state, PairState::ABSENT);
  const CallableHandle again = w.register_callable(noop, {a});
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(again, TaskArgs(), {}, a); }), "");
  w.close();
}

TEST_F(RemoteRegister, UnregisterDeferredBehindSubmittedTask) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  w.init();
  const RemoteCallable sleeper = plugin_entry("session_sleep_ms");
  const CallableHandle h = w.register_callable(sleeper, {a});
  RunHandle run = w.submit([&](Orchestrator& o) { o.submit_next_level(h, TaskArgs().scalar(uint64_t{300}), {}, a); });
  w.unregister(h);
  // The slot still references the pair: tombstoned, and the runner still has the entry.
  EXPECT_EQ(w.callable_state(a, h.hashid()).state, PairState::TOMBSTONED);
  EXPECT_NE(register_error(w, sleeper, {a}).find("REGISTER_TOMBSTONE_ACTIVE"), std::string::npos);
  run.wait(10);  // CALL-21: the task ran, and the wait sent the final unregister
  EXPECT_EQ(w.callable_state(a, h.hashid()).state, PairState::ABSENT);
  EXPECT_FALSE(committed(w, a, sleeper));
  w.close();
}

TEST_F(RemoteRegister, InnerChipAndSubCallablesRunThroughInnerHandles) {
  Worker w(4, parent_options());
  RemoteWorkerSpec s = spec_for(daemon);
  s.num_chips = 1;
  s.num_sub_workers = 1;
  const WorkerId a = w.add_remote_worker(s);
  w.init();
  const CallableHandle inc = w.register_callable(plugin_entry("session_inner_chip_increment"), {a});
  const CallableHandle store = w.register_callable(plugin_entry("session_inner_sub_store"), {a});
  const CallableHandle probe = w.register_callable(plugin_entry("session_inner_probe"), {a});
  TaskArgs probe_chip;
  add_digest(probe_chip, inc_u8().identity().digest);
  // Not registered yet: the runner's lookup fails the task with its "not installed" text.
  std::string what = run_error(w, [&](Orchestrator& o) { o.submit_next_level(probe, probe_chip, {}, a); });
  EXPECT_NE(what.find("is not installed"), std::string::npos) << what;

  const InnerRegistration chip = w.register_inner(RemoteCallable::chip(inc_u8()), {a});
  const RemoteCallable sub_entry = plugin_entry("session_sub_store_scalar");
  const InnerRegistration sub = w.register_inner(sub_entry, {a});
  EXPECT_EQ(w.callable_state(a, chip.hashid(), RemoteRegistry::INNER).state, PairState::INSTALLED);
  EXPECT_EQ(w.callable_state(a, chip.hashid()).state, PairState::ABSENT);  // never a dispatcher pair

  const RemoteBufferHandle buf = w.remote_malloc(a, 8);
  TaskArgs chip_args;
  chip_args.add(RemoteTensorRef(buf, 0, {8}, DataType::UINT8), TensorTag::INOUT);
  chip_args.add_scalar_bits(5);
  add_digest(chip_args, inc_u8().identity().digest);
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(inc, chip_args, {}, a); }), "");
  EXPECT_EQ(read_back(w, buf), (std::vector<uint8_t>(8, 5)));

  TaskArgs sub_args;
  sub_args.add(RemoteTensorRef(buf, 0, {8}, DataType::UINT8), TensorTag::OUTPUT_EXISTING);
  add_digest(sub_args, sub_entry.identity().digest);
  sub_args.add_scalar_bits(17);
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(store, sub_args, {}, a); }), "");
  uint64_t stored = 0;
  std::memcpy(&stored, read_back(w, buf).data(), 8);
  EXPECT_EQ(stored, 17u);

  w.unregister(chip);
  what = run_error(w, [&](Orchestrator& o) { o.submit_next_level(probe, probe_chip, {}, a); });
  EXPECT_NE(what.find("is not installed"), std::string::npos) << what;  // unpublished on unregister
  w.unregister(sub);
  w.remote_free(buf);
  w.close();
}

TEST_F(RemoteRegister, DispatcherRefusesChipKernels) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  w.init();
  const std::string what = register_error(w, RemoteCallable::chip(inc_u8()), {a});
  EXPECT_EQ(what.rfind("CALLABLE_KIND_UNSUPPORTED", 0), 0u) << what;
  w.close();
}

TEST_F(RemoteRegister, PrepareRefusalOnOneRunnerLeavesNothingAnywhere) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  const WorkerId b = w.add_remote_worker(spec_for(daemon));
  w.init();
  // A plugin the daemon cannot find: refused at PREPARE by the first runner, nothing committed.
  const RemoteCallable missing = RemoteCallable::native("no_such_plugin:entry");
  const std::string what = register_error(w, missing, {a, b});
  EXPECT_EQ(what.rfind("REGISTER_PARTIAL_FAILURE", 0), 0u) << what;
  EXPECT_NE(what.find("worker 0"), std::string::npos) << what;
  EXPECT_EQ(w.callable_state(a, missing.hashid()).state, PairState::ABSENT);
  EXPECT_EQ(w.callable_state(b, missing.hashid()).state, PairState::ABSENT);
  // Both sessions stay usable.
  const CallableHandle noop = w.register_callable(plugin_entry("session_noop"), {a, b});
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(noop, TaskArgs(), {}, b); }), "");
  w.close();
}

// A second daemon next to the fixture's own, configured differently; like the first, it must have
// no runner left when the test ends and must exit on SIGTERM.
class RemoteRegisterWithSecondDaemon : public RemoteRegister {
 protected:
  RemoteRegisterWithSecondDaemon(const std::vector<std::string>& env, const std::string& plugin_dir)
      : other({}, env, plugin_dir) {}
  ~RemoteRegisterWithSecondDaemon() override {
    EXPECT_TRUE(wait_until([&] { return other.runners().empty(); }, 10000ms)) << "a runner outlived its session";
    EXPECT_TRUE(other.stop()) << "the second daemon did not exit on SIGTERM";
  }
  Daemon other;
};

// A second daemon whose runners refuse their first COMMIT_REGISTER_CALLABLE.
class RemoteRegisterFaults : public RemoteRegisterWithSecondDaemon {
 protected:
  RemoteRegisterFaults()
      : RemoteRegisterWithSecondDaemon({"ECHELON_TEST_FAULT=fail:COMMIT_REGISTER_CALLABLE"}, ECHELON_SESSION_PLUGIN_DIR) {}
  Daemon& faulty = other;
};

TEST_F(RemoteRegisterFaults, CommitFailureRollsBackTheOthers) {
  Worker w(4, parent_options());
  const WorkerId good = w.add_remote_worker(spec_for(daemon));
  const WorkerId bad = w.add_remote_worker(spec_for(faulty));
  w.init();
  const RemoteCallable noop = plugin_entry("session_noop");
  const std::string what = register_error(w, noop, {good, bad});
  EXPECT_EQ(what.rfind("REGISTER_PARTIAL_FAILURE", 0), 0u) << what;
  EXPECT_NE(what.find("injected fault"), std::string::npos) << what;
  // The good worker had committed: it was unregistered again; the bad one was aborted.
  EXPECT_FALSE(committed(w, good, noop));
  EXPECT_FALSE(committed(w, bad, noop));
  EXPECT_EQ(w.callable_state(good, noop.hashid()).state, PairState::ABSENT);
  EXPECT_EQ(w.callable_state(bad, noop.hashid()).state, PairState::ABSENT);
  // The fault fired once: a retry registers on both and runs.
  const CallableHandle h = w.register_callable(noop, {good, bad});
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) {
              o.submit_next_level(h, TaskArgs(), {}, good);
              o.submit_next_level(h, TaskArgs(), {}, bad);
            }),
            "");
  w.close();
}

// A daemon whose runners sit on their first PREPARE past the parent's control deadline.
class RemoteRegisterStall : public RemoteRegisterWithSecondDaemon {
 protected:
  RemoteRegisterStall()
      : RemoteRegisterWithSecondDaemon({"ECHELON_TEST_FAULT=stall:PREPARE_REGISTER_CALLABLE", "ECHELON_TEST_FAULT_STALL_S=3"},
                                       ECHELON_SESSION_PLUGIN_DIR) {}
  Daemon& stalling = other;
};

TEST_F(RemoteRegisterStall, UnansweredPrepareFailsOnlyThatWorker) {
  Worker w(4, parent_options());
  const WorkerId good = w.add_remote_worker(spec_for(daemon));
  const WorkerId slow = w.add_remote_worker(spec_for(stalling));
  w.init();
  const RemoteCallable noop = plugin_entry("session_noop");
  RegisterOptions quick;
  quick.control_timeout_s = 0.5;
  const std::string what = register_error(w, noop, {good, slow}, quick);
  EXPECT_EQ(what.rfind("REGISTER_PARTIAL_FAILURE", 0), 0u) << what;
  EXPECT_NE(what.find("unanswered"), std::string::npos) << what;
  // The stalled worker's lane cannot be trusted any more: FAILED, and its pair uncertain.
  EXPECT_FALSE(w.health(slow).ready);
  EXPECT_EQ(w.callable_state(slow, noop.hashid()).state, PairState::CLEANUP_UNCERTAIN);
  // The good worker was aborted and is clean and usable.
  EXPECT_EQ(w.callable_state(good, noop.hashid()).state, PairState::ABSENT);
  const CallableHandle h = w.register_callable(noop, {good});
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(h, TaskArgs(), {}, good); }), "");
  w.close();
}

// A second daemon whose plugin directory holds a different build of the same plugin name.
class RemoteRegisterDrift : public RemoteRegisterWithSecondDaemon {
 protected:
  RemoteRegisterDrift() : RemoteRegisterWithSecondDaemon({}, ECHELON_SESSION_PLUGIN_VARIANT_DIR) {}
  Daemon& variant = other;
};

TEST_F(RemoteRegisterDrift, PluginDigestDriftWarns) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  const WorkerId b = w.add_remote_worker(spec_for(variant));
  w.init();
  // The warning goes to the default logger; a ring-buffer sink on it keeps what it says.
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  spdlog::default_logger()->sinks().push_back(sink);
  const CallableHandle h = w.register_callable(plugin_entry("session_noop"), {a, b});
  spdlog::default_logger()->sinks().pop_back();
  std::string log;
  for (const auto& line : sink->last_formatted()) log += line;
  EXPECT_NE(log.find("resolved different plugin files"), std::string::npos) << log;
  EXPECT_NE(log.find("worker 0"), std::string::npos) << log;
  EXPECT_NE(log.find("worker 1"), std::string::npos) << log;
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(h, TaskArgs(), {}, b); }), "");
  w.close();
}

TEST_F(RemoteRegisterDrift, PluginDigestDriftAbortsWhenStrict) {
  Worker w(4, parent_options());
  const WorkerId a = w.add_remote_worker(spec_for(daemon));
  const WorkerId b = w.add_remote_worker(spec_for(variant));
  w.init();
  const RemoteCallable noop = plugin_entry("session_noop");
  RegisterOptions strict;
  strict.require_identical_plugins = true;
  const std::string what = register_error(w, noop, {a, b}, strict);
  EXPECT_EQ(what.rfind("HASHID_DESCRIPTOR_MISMATCH", 0), 0u) << what;
  EXPECT_FALSE(committed(w, a, noop));
  EXPECT_FALSE(committed(w, b, noop));
  EXPECT_EQ(w.callable_state(a, noop.hashid()).state, PairState::ABSENT);
  // Either worker alone is fine.
  EXPECT_NO_THROW(w.register_callable(noop, {b}, strict));
  w.close();
}

}  // namespace
}  // namespace echelon::remote_e2e
