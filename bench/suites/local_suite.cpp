// local: the fork/shm mailbox path. The raw baseline is a two-process futex ping-pong over shared
// memory with the same spin-then-park policy, measured in the same run.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#include "bench_stats.h"
#include "bench_suite.h"
#include "chip/kernels/kernel_files.h"
#include "core/shared_mapping.h"
#include "core/spin_wait.h"
#include "echelon/host_buffer.h"
#include "echelon/worker.h"
#include "endpoint/mailbox.h"

namespace echelon::bench {
namespace {

using Clock = std::chrono::steady_clock;

void noop_sub(const SubCall&) {}

// Parent writes ping = i, child answers pong = i; one round trip per iteration.
double futex_pingpong_us(int iterations) {
  struct Words {
    std::atomic<uint32_t> ping{0}, pong{0};
  };
  SharedMapping m(sizeof(Words), "futex ping-pong");
  Words* w = new (m.data()) Words();
  auto wait_for = [](std::atomic<uint32_t>& word, uint32_t want) {
    while (true) {
      const uint32_t seen = word.load(std::memory_order_acquire);
      if (seen == want) return;
      if (spin_then_yield([&] { return word.load(std::memory_order_acquire) == want; })) return;
      futex_wait(word, seen, 100);
    }
  };
  const pid_t pid = fork();
  if (pid == 0) {
    for (uint32_t i = 1; i <= static_cast<uint32_t>(iterations); ++i) {
      wait_for(w->ping, i);
      w->pong.store(i, std::memory_order_release);
      futex_wake_all(w->pong);
    }
    _exit(0);
  }
  std::vector<double> rtt;
  rtt.reserve(iterations);
  for (uint32_t i = 1; i <= static_cast<uint32_t>(iterations); ++i) {
    const auto t0 = Clock::now();
    w->ping.store(i, std::memory_order_release);
    futex_wake_all(w->ping);
    wait_for(w->pong, i);
    rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  waitpid(pid, nullptr, 0);
  return median(rtt);
}

void run_local(const BenchOptions& opts, Report& report) {
  const int pings = opts.quick ? 2000 : 20000;
  const int chains = opts.quick ? 10 : 50, chain_len = opts.quick ? 100 : 400;

  const double raw = futex_pingpong_us(pings);

  WorkerOptions wo;
  wo.heap_ring_bytes = 16ull << 20;
  // Each Worker forks before any thread exists, so the first one is closed before the second.
  double mailbox = 0, single_run = 0;
  {
  Worker w(3, wo);
  w.add_sub();
  auto noop = w.register_callable(NativeCallable::inproc("bench.local.noop", SubFn(noop_sub)));
  w.init();
  HostBuffer buf(64);
  const Tensor x = buf.view(0, {1}, DataType::INT64);
  // A dependent chain keeps exactly one task in the mailbox: each hop is one round trip.
  std::vector<double> per_task;
  for (int c = 0; c < chains; ++c) {
    const auto t0 = Clock::now();
    w.run([&](Orchestrator& o) {
      for (int i = 0; i < chain_len; ++i) o.submit_sub(noop, TaskArgs().inout(x));
    });
    per_task.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / chain_len);
  }
  mailbox = median(per_task);
  // A whole run of one task: submit, dispatch, child, completion, fence.
  std::vector<double> runs;
  for (int i = 0; i < pings / 4; ++i) {
    const auto t0 = Clock::now();
    w.run([&](Orchestrator& o) { o.submit_sub(noop, TaskArgs{}); });
    runs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  single_run = median(runs);
  }
  report.figure("local_mailbox_rtt_us", mailbox);
  report.figure("futex_pingpong_rtt_us", raw);
  report.figure("local_over_futex", mailbox / raw);
  report.figure("local_single_task_run_us", single_run);

  // Four chips adding vector slices, each slice a dependent chain of vadd tasks.
  constexpr uint32_t n = 1 << 16, chips = 4, slice = n / chips;
  HostBuffer a(n * 4), b(n * 4), c(n * 4);
  Worker node(3, wo);
  std::vector<WorkerId> ids;
  for (uint32_t i = 0; i < chips; ++i) ids.push_back(node.add_chip());
  auto vadd = node.register_callable(ChipCallable::from_file(kernels::kernel_file("vadd")));
  node.init();
  const int rounds = opts.quick ? 200 : 2000;
  const auto t0 = Clock::now();
  node.run([&](Orchestrator& o) {
    for (int r = 0; r < rounds; ++r)
      for (uint32_t k = 0; k < chips; ++k) {
        const uint64_t off = uint64_t{k} * slice * 4;
        o.submit_next_level(vadd,
                            TaskArgs()
                                .input(a.view(off, {slice}, DataType::FLOAT32))
                                .input(b.view(off, {slice}, DataType::FLOAT32))
                                .output_existing(c.view(off, {slice}, DataType::FLOAT32)),
                            {}, ids[k]);
      }
  });
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  report.figure("local_kernel_tasks_per_s", rounds * chips / secs);
}

}  // namespace

ECHELON_BENCH_SUITE(local, "local", "fork/shm mailbox round trip vs raw futex ping-pong; 4-chip kernel DAG", run_local);

}  // namespace echelon::bench
