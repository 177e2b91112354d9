// Remote L3 sessions end to end (runtime.md section 9): a parent Worker(level=4) opens sessions on
// a real daemon over loopback and runs entries of the session test plugin on the runner.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "daemon_fixture.h"
#include "echelon/errors.h"
#include "echelon/host_buffer.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"
#include "remote_e2e_helpers.h"

namespace echelon::remote_e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::string local_hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

using RemoteE2E = DaemonTest;

TEST_F(RemoteE2E, HelloAndCleanShutdown) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  EXPECT_EQ(id, 0);
  w.init();
  EXPECT_TRUE(w.health(id).ready) << w.health(id).reason;
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  w.close();
  EXPECT_TRUE(wait_until([&] { return !process_alive(runner); })) << "the runner did not exit after SHUTDOWN";
  // Exit status 0 is the runner's word that it got a clean SHUTDOWN, not an EOF (RT-907).
  const std::string exited = "runner_pid=" + std::to_string(runner) + " how=\"exited with status 0\"";
  EXPECT_TRUE(wait_until([&] { return daemon.log().find(exited) != std::string::npos; })) << daemon.log();
}

TEST_F(RemoteE2E, BootstrapRefusalNamesWorkerAndDaemonText) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  w.register_callable(plugin_entry("no_such_symbol"), {id});
  std::string err;
  try {
    w.init();
  } catch (const std::exception& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("remote worker 0 at 127.0.0.1:" + std::to_string(daemon.port())), std::string::npos) << err;
  EXPECT_NE(err.find("RegistryError"), std::string::npos) << err;
  EXPECT_NE(err.find("no_such_symbol"), std::string::npos) << err;
}

TEST_F(RemoteE2E, PartialRemoteInitRollsBackAllSessions) {
  Worker w(4, parent_options());
  const WorkerId good = w.add_remote_worker(spec_for(daemon));
  const WorkerId bad = w.add_remote_worker(spec_for(daemon));
  w.register_callable(plugin_entry("session_always_fail"), {good});
  w.register_callable(plugin_entry("no_such_symbol"), {bad});
  EXPECT_THROW(w.init(), Error);
  // The good session was READY; the rollback attaches and shuts it down cleanly, well before its
  // 15 s startup deadline would have ended it.
  EXPECT_TRUE(wait_until([&] { return daemon.runners().empty(); }, 3000ms)) << "the opened session was not rolled back";
  EXPECT_TRUE(wait_until([&] { return daemon.log().find("how=\"exited with status 0\"") != std::string::npos; }))
      << daemon.log();
}

TEST_F(RemoteE2E, HostTensorsAreRejectedBeforeDispatch) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
  w.init();
  HostBuffer buf(64);
  std::string err;
  try {
    w.run([&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().input(buf.view(0, {64}, DataType::UINT8)), {}, id); });
  } catch (const SubmitError& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("cannot be consumed by worker 0"), std::string::npos) << err;
  EXPECT_TRUE(w.health(id).ready) << "a refused submit must not fail the session";
}

TEST(RemoteE2EAuth, AuthenticatedSessionRunsTask) {
  SecretFile secret;
  Daemon daemon(secret.path);
  {
    Worker w(4, parent_options());
    RemoteWorkerSpec spec = spec_for(daemon);
    spec.auth_secret_file = secret.path;
    const WorkerId id = w.add_remote_worker(spec);
    const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
    w.init();
    EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{0}), {}, id); }),
              "");
  }
  {
    // Without the secret the parent is told why, and no session starts.
    Worker w(4, parent_options());
    w.add_remote_worker(spec_for(daemon));
    std::string err;
    try {
      w.init();
    } catch (const std::exception& e) {
      err = e.what();
    }
    EXPECT_NE(err.find("requires authentication"), std::string::npos) << err;
  }
  EXPECT_TRUE(wait_until([&] { return daemon.runners().empty(); }));
  EXPECT_TRUE(daemon.stop());
}

TEST_F(RemoteE2E, SingleRemoteTaskRoundTrip) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
  w.init();
  // No tensors: the entry checks that the byte sum (0) equals scalar 0, so the scalar arrived.
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{0}), {}, id); }),
            "");
  EXPECT_NE(run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{5}), {}, id); }),
            "");
  // The session survives a failed task.
  EXPECT_EQ(run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{0}), {}, id); }),
            "");
  EXPECT_TRUE(w.health(id).ready);
}

TEST_F(RemoteE2E, RemoteErrorCarriesHostWorkerHashSeq) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  const auto fail = w.register_callable(plugin_entry("session_always_fail"), {id});
  w.init();
  const std::string err = run_error(w, [&](Orchestrator& o) { o.submit_next_level(fail, TaskArgs{}, {}, id); });
  const std::string hashid = plugin_entry("session_always_fail").identity().hashid();
  // The parent's prefix (RT-808) ...
  EXPECT_NE(err.find("[host=127.0.0.1 worker=0 level=3 callable=" + hashid + " seq="), std::string::npos) << err;
  EXPECT_NE(err.find("TASK_FAILURE"), std::string::npos) << err;
  // ... and the runner's own (protocol.md 7), with the command-lane sequence.
  EXPECT_NE(err.find("[host=" + local_hostname() + " worker=0 callable=" + hashid + " seq=1]"), std::string::npos)
      << err;
  EXPECT_NE(err.find("session test entry failed on purpose"), std::string::npos) << err;
}

TEST_F(RemoteE2E, KilledRunnerBecomesBoundedEndpointFailure) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  const auto sleep_ms = w.register_callable(plugin_entry("session_sleep_ms"), {id});
  w.init();
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  const auto start = Clock::now();
  std::thread killer([&] {
    std::this_thread::sleep_for(300ms);  // the 30 s task is running by now
    ::kill(runner, SIGKILL);
  });
  const std::string err =
      run_error(w, [&](Orchestrator& o) { o.submit_next_level(sleep_ms, TaskArgs().scalar(uint64_t{30000}), {}, id); });
  killer.join();
  const auto took = Clock::now() - start;
  EXPECT_NE(err.find("ENDPOINT_FAILURE"), std::string::npos) << err;
  EXPECT_NE(err.find("remote worker 0 at 127.0.0.1:" + std::to_string(daemon.port())), std::string::npos) << err;
  EXPECT_LT(took, 5s) << "the failure was not bounded";
  EXPECT_FALSE(w.health(id).ready);
  w.close();
}

TEST_F(RemoteE2E, IdleHealthExpiryRemovesEndpoint) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(fast_health_spec_for(daemon));
  const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
  w.init();
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  ASSERT_TRUE(w.health(id).ready);
  ::kill(runner, SIGSTOP);
  // No submit: the I/O thread's own timer notices the silence.
  const bool expired = wait_until([&] { return !w.health(id).ready; }, 3000ms);
  ::kill(runner, SIGCONT);
  EXPECT_TRUE(expired) << "health expiry did not fail an idle endpoint";
  EXPECT_NE(w.health(id).reason.find("no HEALTH"), std::string::npos) << w.health(id).reason;
  // Never re-admitted, although HEALTH flows again after SIGCONT.
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(w.health(id).ready);
  const std::string err =
      run_error(w, [&](Orchestrator& o) { o.submit_next_level(sum, TaskArgs().scalar(uint64_t{0}), {}, id); });
  EXPECT_NE(err.find("FAILED"), std::string::npos) << err;
  w.close();
  EXPECT_TRUE(wait_until([&] { return !process_alive(runner); })) << "the runner outlived its expired session";
}

TEST_F(RemoteE2E, MixedLocalAndRemoteUnderOneL4) {
  Worker w(4, parent_options());
  // One binding per process: an in-process name may be bound to one function only (RT-1003).
  static const auto local_body = NativeCallable::inproc(
      "e2e.local.body", OrchFn([](Orchestrator&, const TaskArgs& a, const CallConfig&) {
        if (a.scalar_count() != 1 || a.scalar_as<uint64_t>(0) != 7) throw std::runtime_error("wrong scalar");
      }));
  ChildWorkerConfig local;
  local.options = parent_options();
  local.setup = [](Worker& l3) { l3.add_sub(); };
  const WorkerId local_id = w.add_worker(local);
  const WorkerId remote_id = w.add_remote_worker(spec_for(daemon));
  EXPECT_EQ(local_id, 0);
  EXPECT_EQ(remote_id, 1);
  const auto local_h = w.register_callable(local_body);
  const auto remote_h = w.register_callable(plugin_entry("session_check_inline_sum"), {remote_id});
  w.init();
  EXPECT_EQ(run_error(w,
                      [&](Orchestrator& o) {
                        for (int i = 0; i < 3; ++i) {
                          o.submit_next_level(local_h, TaskArgs().scalar(uint64_t{7}), {}, local_id);
                          o.submit_next_level(remote_h, TaskArgs().scalar(uint64_t{0}), {}, remote_id);
                        }
                      }),
            "");
  // Entries stay on their own side: the local entry is not installed on the remote worker.
  const std::string err =
      run_error(w, [&](Orchestrator& o) { o.submit_next_level(local_h, TaskArgs().scalar(uint64_t{7}), {}, remote_id); });
  EXPECT_NE(err.find("not installed on worker 1"), std::string::npos) << err;
  EXPECT_TRUE(w.health(local_id).ready);
  EXPECT_TRUE(w.health(remote_id).ready);
}

TEST(RemoteWorkerSpecTest, InvalidSpecRejectedBeforeAnything) {
  Worker w(4, parent_options());
  auto rejected = [&](const std::function<void(RemoteWorkerSpec&)>& edit) {
    RemoteWorkerSpec s;
    s.port = 19073;
    edit(s);
    try {
      w.add_remote_worker(s);
    } catch (const ValidationError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(rejected([](auto& s) { s.port = 0; }).find("RemoteWorkerSpec.port"), std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.host = "example.com"; }).find("RemoteWorkerSpec.host"), std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.transport_profile = "rdma"; }).find("'rdma' is unknown"), std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.health_expiry_s = 0.3; }).find("RemoteWorkerSpec.health_expiry_s"),
            std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.control_timeout_s = std::numeric_limits<double>::infinity(); })
                .find("RemoteWorkerSpec.control_timeout_s"),
            std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.shutdown_timeout_s = 0; }).find("RemoteWorkerSpec.shutdown_timeout_s"),
            std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.remote_task_dispatcher = {"/abs/x:f"}; }).find("remote_task_dispatcher[0]"),
            std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.auth_secret_file = "/nonexistent/secret"; }).find("auth_secret_file"),
            std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.copy_chunk_bytes = 0; }).find("RemoteWorkerSpec.copy_chunk_bytes"),
            std::string::npos);
  EXPECT_NE(rejected([](auto& s) { s.copy_chunk_bytes = uint64_t{16} << 20; }).find("RemoteWorkerSpec.copy_chunk_bytes"),
            std::string::npos);
  // Nothing was added: the next worker still gets id 0.
  RemoteWorkerSpec ok;
  ok.port = 19073;
  EXPECT_EQ(w.add_remote_worker(ok), 0);
  Worker l3(3, parent_options());
  EXPECT_THROW(l3.add_remote_worker(ok), UsageError);
}

}  // namespace
}  // namespace echelon::remote_e2e
