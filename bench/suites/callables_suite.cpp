// callables: post-init remote registration against a real echelon-remote-worker on loopback.
//   register_2pc_us_p50      Worker::register_callable of a plugin entry on two remote workers
//                            (PREPARE to both, then COMMIT to both); each sample unregisters after.
//   two_task_rtt_us_p50      the raw baseline, measured interleaved with the registrations: one
//                            no-op task round trip to each of the same two workers, back to back.
//   register_over_two_rtt    the first over the second (goal <= 3).
//   register_chip_blob_ms_p50  Worker::register_inner of a chip kernel with a 1 MiB blob on one
//                            worker with one chip (checked, staged and loaded on the runner and
//                            its chip before the commit reply).
#include <cstdint>
#include <vector>

#include "bench_remote.h"
#include "bench_stats.h"
#include "bench_suite.h"
#include "loopback_tcp.h"
#include "echelon/chip_callable.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"

namespace echelon::bench {
namespace {

using remote::LocalDaemon;

struct TwoPhaseFigures {
  double register_us = 0;
  double two_rtt_us = 0;
};

TwoPhaseFigures two_phase_figures(const LocalDaemon& daemon, int samples) {
  Worker w(4, bench_parent_options());
  const WorkerId a = w.add_remote_worker(bench_loopback_spec(daemon, 0));
  const WorkerId b = w.add_remote_worker(bench_loopback_spec(daemon, 0));
  // The baseline's entry stays registered, so the plugin library stays loaded on both runners
  // and the registration measures the protocol, not a first dlopen.
  const CallableHandle noop = w.register_callable(RemoteCallable::native("echelon_bench:bench_noop"), {a, b});
  w.init();
  const RemoteCallable entry = RemoteCallable::native("echelon_bench:bench_noop2");
  std::vector<double> reg, rtt;
  for (int i = 0; i < samples; ++i) {
    auto t0 = BenchClock::now();
    const CallableHandle h = w.register_callable(entry, {a, b});
    reg.push_back(elapsed_us(t0));
    w.unregister(h);
    t0 = BenchClock::now();
    w.run([&](Orchestrator& o) { o.submit_next_level(noop, TaskArgs{}, {}, a); });
    w.run([&](Orchestrator& o) { o.submit_next_level(noop, TaskArgs{}, {}, b); });
    rtt.push_back(elapsed_us(t0));
  }
  w.close();
  return {median(reg), median(rtt)};
}

double chip_blob_ms(const LocalDaemon& daemon, int samples) {
  const ChipCallable kernel = ChipCallable::from_file(ECHELON_BENCH_BALLAST_KERNEL);
  if (kernel.blob().size() < (size_t{1} << 20)) die("callables suite: the ballast kernel is smaller than 1 MiB");
  Worker w(4, bench_parent_options());
  const WorkerId a = w.add_remote_worker(bench_loopback_spec(daemon, 1));
  w.init();
  const RemoteCallable chip = RemoteCallable::chip(kernel);
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    const auto t0 = BenchClock::now();
    const InnerRegistration r = w.register_inner(chip, {a});
    ms.push_back(elapsed_us(t0) / 1000);
    w.unregister(r);
  }
  w.close();
  return median(ms);
}

void run_callables(const BenchOptions& opts, Report& report) {
  LocalDaemon daemon(bench_daemon_options());
  const TwoPhaseFigures f = two_phase_figures(daemon, opts.quick ? 300 : 3000);
  report.figure("register_2pc_us_p50", f.register_us);
  report.figure("two_task_rtt_us_p50", f.two_rtt_us);
  report.figure("register_over_two_rtt", f.register_us / f.two_rtt_us);
  report.figure("register_chip_blob_ms_p50", chip_blob_ms(daemon, opts.quick ? 10 : 50));
  if (!daemon.stop()) die("the callables bench daemon did not exit on SIGTERM");
}

}  // namespace

ECHELON_BENCH_SUITE(callables, "callables",
                    "two-worker two-phase registration against two no-op round trips; 1 MiB chip kernel registration",
                    run_callables);

}  // namespace echelon::bench
