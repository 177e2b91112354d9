// remote: remote L3 sessions over loopback against a real echelon-remote-worker started for the
// run (insecure, ephemeral port, the bench plugin's no-op entry). The raw baseline is the loopback
// TCP ping-pong between two processes, measured in the same run.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "bench_remote.h"
#include "bench_stats.h"
#include "bench_suite.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"
#include "loopback_tcp.h"

namespace echelon::bench {
namespace {

using Clock = std::chrono::steady_clock;
using remote::LocalDaemon;

const RemoteCallable& noop_entry() {
  static const RemoteCallable entry = RemoteCallable::native("echelon_bench:bench_noop");
  return entry;
}

// add_remote_worker + init, until the session said HELLO READY; median over `sessions`, in ms.
double session_startup_ms_p50(const LocalDaemon& daemon, int sessions) {
  std::vector<double> ms;
  for (int i = 0; i < sessions; ++i) {
    Worker w(4, bench_parent_options());
    const auto t0 = Clock::now();
    const WorkerId id = w.add_remote_worker(bench_loopback_spec(daemon));
    w.register_callable(noop_entry(), {id});
    w.init();
    ms.push_back(elapsed_us(t0) / 1000);
    w.close();
  }
  return median(ms);
}

struct RemoteFigures {
  double rtt_us_p50 = 0;
  double tcp_rtt_us_p50 = 0;
  double back_to_back_us_per_task = 0;
};

// One session: `runs` single-task runs (median round trip), each followed by one raw TCP
// ping-pong, then `batches` runs of 1,000 independent tasks each (median time per task).
// Interleaving puts the remote round trip and its baseline in the same machine state: on an
// idle 2-core box both are bimodal (wake-up latency), and separate phases could land in
// different modes, making their ratio meaningless.
RemoteFigures remote_task_figures(const LocalDaemon& daemon, int runs, int batches) {
  constexpr int kBackToBackTasks = 1000;
  TcpPingPong tcp;  // forked before the Worker starts any thread
  Worker w(4, bench_parent_options());
  const WorkerId id = w.add_remote_worker(bench_loopback_spec(daemon));
  const auto noop = w.register_callable(noop_entry(), {id});
  w.init();
  RemoteFigures f;
  std::vector<double> rtt, tcp_rtt;
  rtt.reserve(runs);
  tcp_rtt.reserve(runs);
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    w.run([&](Orchestrator& o) { o.submit_next_level(noop, TaskArgs{}, {}, id); });
    rtt.push_back(elapsed_us(t0));
    tcp_rtt.push_back(tcp.once_us());
  }
  f.rtt_us_p50 = median(rtt);
  f.tcp_rtt_us_p50 = median(tcp_rtt);
  std::vector<double> per_task;
  for (int b = 0; b < batches; ++b) {
    const auto t0 = Clock::now();
    w.run([&](Orchestrator& o) {
      for (int i = 0; i < kBackToBackTasks; ++i) o.submit_next_level(noop, TaskArgs{}, {}, id);
    });
    per_task.push_back(elapsed_us(t0) / kBackToBackTasks);
  }
  f.back_to_back_us_per_task = median(per_task);
  w.close();
  return f;
}

void run_remote(const BenchOptions& opts, Report& report) {
  // Stopped and reaped on the way out, with every runner it still has.
  LocalDaemon daemon(bench_daemon_options());
  const RemoteFigures remote = remote_task_figures(daemon, opts.quick ? 4000 : 20000, opts.quick ? 1 : 9);
  const double tcp = remote.tcp_rtt_us_p50;
  const double startup = session_startup_ms_p50(daemon, opts.quick ? 11 : 51);
  report.figure("remote_rtt_us_p50", remote.rtt_us_p50);
  report.figure("remote_back_to_back_us_per_task", remote.back_to_back_us_per_task);
  report.figure("tcp_pingpong_rtt_us_p50", tcp);
  report.figure("remote_over_tcp", remote.rtt_us_p50 / tcp);
  report.figure("session_startup_ms_p50", startup);
  if (!daemon.stop()) die("the remote bench daemon did not exit on SIGTERM");
}

}  // namespace

ECHELON_BENCH_SUITE(remote, "remote",
                    "remote L3 sessions on a loopback daemon: task RTT, back-to-back tasks, session "
                    "start-up, against raw TCP",
                    run_remote);

}  // namespace echelon::bench
