// copy: remote buffer copies (Worker::remote_copy_to / remote_copy_from) of one large buffer on a
// loopback host_tcp session against a real echelon-remote-worker started for the run. The raw
// baseline is a one-way loopback TCP stream between two processes, measured in the same run, so
// copy_over_tcp says how much of the wire the copy path uses (the goal is >= 0.7).
//
// The baseline (tcp_stream_gb_per_s) does the same work as a copy: a forked peer sends 256 MiB
// from a prefaulted 256 MiB buffer, and this process receives it straight into a prefaulted
// 256 MiB buffer at the running offset (4 MiB calls both sides), as many times as the copies run,
// median of the same number of repetitions. Every byte comes out of and lands in memory that is
// far larger than the caches, as in a copy, so the ratio compares like with like. The stream of
// one cache-hot 256 KiB buffer (the tcp suite's figure) leaves out that memory traffic, so it
// overstates what the wire carries for a large buffer; it stays printed as
// tcp_stream_hot_gb_per_s, for reference only, and is not part of the ratio.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bench_remote.h"
#include "bench_stats.h"
#include "bench_suite.h"
#include "echelon/remote_buffer.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"
#include "loopback_tcp.h"

namespace echelon::bench {
namespace {

using Clock = std::chrono::steady_clock;
using remote::LocalDaemon;

// 256 MiB: large enough that per-chunk costs (16 chunks) and not start-up dominate; a quick run
// of both directions takes well under a second per repetition on loopback.
constexpr uint64_t kCopyBytes = uint64_t{256} << 20;
// The baseline stream's send and recv calls: large, so per-call costs do not slow it down.
constexpr size_t kStreamCallBytes = size_t{4} << 20;

double gb_per_s(uint64_t bytes, Clock::time_point since) {
  return static_cast<double>(bytes) / std::chrono::duration<double>(Clock::now() - since).count() / 1e9;
}

struct CopyFigures {
  double to_remote = 0;
  double from_remote = 0;
};

// One session, one buffer; each repetition copies the whole buffer to the session and back.
CopyFigures copy_figures(const LocalDaemon& daemon, int repetitions) {
  Worker w(4, bench_parent_options());
  const WorkerId id = w.add_remote_worker(bench_loopback_spec(daemon));
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(id, kCopyBytes);
  // Touched up front, so page faults of the host side are not part of the first repetition.
  std::vector<std::byte> src(kCopyBytes, std::byte{0x3C}), dst(kCopyBytes, std::byte{0});
  std::vector<double> to, from;
  for (int i = 0; i < repetitions; ++i) {
    auto t0 = Clock::now();
    w.remote_copy_to(buf, 0, src);
    to.push_back(gb_per_s(kCopyBytes, t0));
    t0 = Clock::now();
    w.remote_copy_from(buf, 0, dst);
    from.push_back(gb_per_s(kCopyBytes, t0));
  }
  if (dst != src) die("copy suite: the bytes read back differ from the bytes written");
  w.remote_free(buf);
  w.close();
  return {median(to), median(from)};
}

void run_copy(const BenchOptions& opts, Report& report) {
  LocalDaemon daemon(bench_daemon_options());
  const int repetitions = opts.quick ? 3 : 7;
  const CopyFigures copy = copy_figures(daemon, repetitions);
  const TcpStreamShape same_footprint{kCopyBytes, kCopyBytes, kStreamCallBytes};
  const double tcp = median(tcp_stream_gb_per_s(same_footprint, repetitions));
  const double tcp_hot = tcp_stream_hot_gb_per_s(opts.quick);
  report.figure("copy_to_remote_gb_per_s", copy.to_remote);
  report.figure("copy_from_remote_gb_per_s", copy.from_remote);
  report.figure("tcp_stream_gb_per_s", tcp);
  report.figure("tcp_stream_hot_gb_per_s", tcp_hot);
  report.figure("copy_over_tcp", std::min(copy.to_remote, copy.from_remote) / tcp);
  if (!daemon.stop()) die("the copy bench daemon did not exit on SIGTERM");
}

}  // namespace

ECHELON_BENCH_SUITE(copy, "copy",
                    "256 MiB remote_copy_to / remote_copy_from on a loopback session, against a raw TCP stream",
                    run_copy);

}  // namespace echelon::bench
