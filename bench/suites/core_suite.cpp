// core: per-task cost of the in-process engine (issue goals: <= 2 us per independent task over two
// endpoints, <= 5 us per chain hop). The raw baseline is a plain mutex/condvar hand-off of the same
// no-op work to two threads, measured in the same run.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "bench_suite.h"
#include "echelon/host_buffer.h"
#include "echelon/worker.h"

namespace echelon::bench {
namespace {

using Clock = std::chrono::steady_clock;

double us_per(Clock::duration d, uint64_t n) { return std::chrono::duration<double, std::micro>(d).count() / n; }

WorkerOptions bench_options() {
  WorkerOptions o;
  o.heap_ring_bytes = 16ull << 20;
  o.max_live_tasks = 1 << 17;
  return o;
}

// Two worker threads draining one locked queue, each completion posted back to the submitter's
// completion counter: what a naive thread pool pays per task.
double raw_threadpool_us(uint64_t n) {
  std::mutex m;
  std::condition_variable cv;
  std::deque<uint64_t> q;
  bool done = false;
  std::atomic<uint64_t> completed{0};
  auto worker = [&] {
    while (true) {
      std::unique_lock l(m);
      cv.wait(l, [&] { return !q.empty() || done; });
      if (q.empty()) return;
      q.pop_front();
      l.unlock();
      completed.fetch_add(1, std::memory_order_release);
    }
  };
  std::thread a(worker), b(worker);
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    {
      std::lock_guard l(m);
      q.push_back(i);
    }
    cv.notify_one();
  }
  while (completed.load(std::memory_order_acquire) < n) std::this_thread::yield();
  const auto t1 = Clock::now();
  {
    std::lock_guard l(m);
    done = true;
  }
  cv.notify_all();
  a.join();
  b.join();
  return us_per(t1 - t0, n);
}

void run_core(const BenchOptions& opts, Report& report) {
  const uint64_t independent = opts.quick ? 20000 : 100000;
  const uint64_t chain = opts.quick ? 2000 : 10000;

  report.figure("core_raw_threadpool_us_per_task", raw_threadpool_us(independent));

  Worker sub_worker(3, bench_options());
  sub_worker.add_sub(ChildIsolation::THREAD);
  sub_worker.add_sub(ChildIsolation::THREAD);
  auto noop_sub = sub_worker.register_callable(NativeCallable::inproc("bench.core.noop_sub", SubFn([](const SubCall&) {})));
  sub_worker.init();
  HostBuffer buf(1 << 16);

  auto time_run = [](Worker& w, const std::function<void(Orchestrator&)>& fn) {
    const auto t0 = Clock::now();
    w.run(fn);
    return Clock::now() - t0;
  };

  const auto d_ind = time_run(sub_worker, [&](Orchestrator& o) {
    for (uint64_t i = 0; i < independent; ++i) o.submit_sub(noop_sub, TaskArgs{});
  });
  report.figure("core_independent_us_per_task", us_per(d_ind, independent));

  const Tensor x = buf.view(0, {16}, DataType::FLOAT32);
  const auto d_chain = time_run(sub_worker, [&](Orchestrator& o) {
    for (uint64_t i = 0; i < chain; ++i) o.submit_sub(noop_sub, TaskArgs().inout(x));
  });
  report.figure("core_chain_us_per_task", us_per(d_chain, chain));

  // Diamonds: top writes a, b and c read a and write their own, bottom reads both and writes a.
  const Tensor a = buf.view(0, {16}, DataType::FLOAT32), l = buf.view(1024, {16}, DataType::FLOAT32),
               r = buf.view(2048, {16}, DataType::FLOAT32);
  const uint64_t diamonds = chain / 4;
  const auto d_dia = time_run(sub_worker, [&](Orchestrator& o) {
    for (uint64_t i = 0; i < diamonds; ++i) {
      o.submit_sub(noop_sub, TaskArgs().inout(a));
      o.submit_sub(noop_sub, TaskArgs().input(a).output_existing(l));
      o.submit_sub(noop_sub, TaskArgs().input(a).output_existing(r));
      o.submit_sub(noop_sub, TaskArgs().input(l).input(r).output_existing(a));
    }
  });
  report.figure("core_diamond_us_per_task", us_per(d_dia, diamonds * 4));

  // The same independent no-ops as NEXT_LEVEL tasks on two nested level-3 Workers: each task is a
  // (task-less) run of the child's own engine.
  Worker l4(4, bench_options());
  l4.add_worker({.isolation = ChildIsolation::THREAD});
  l4.add_worker({.isolation = ChildIsolation::THREAD});
  auto noop_orch = l4.register_callable(
      NativeCallable::inproc("bench.core.noop_orch", OrchFn([](Orchestrator&, const TaskArgs&, const CallConfig&) {})));
  l4.init();
  const uint64_t nl = independent / 2;
  const auto d_nl = time_run(l4, [&](Orchestrator& o) {
    for (uint64_t i = 0; i < nl; ++i) o.submit_next_level(noop_orch, TaskArgs{}, CallConfig{}, static_cast<WorkerId>(i & 1));
  });
  report.figure("core_next_level_us_per_task", us_per(d_nl, nl));
}

}  // namespace

ECHELON_BENCH_SUITE(core, "core", "in-process engine: independent, chain, diamond, next-level", run_core);

}  // namespace echelon::bench
