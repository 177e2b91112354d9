// copy: remote buffer copies (Worker::remote_copy_to / remote_copy_from) of one large buffer on a
// loopback host_tcp session against a real echelon-remote-worker started for the run. The raw
// baseline is a one-way loopback TCP stream between two processes, measured in the same run, so
// copy_over_tcp says how much of the wire the copy path uses (the goal is >= 0.7).
#include <sys/socket.h>
#include <unistd.h>

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

double gb_per_s(uint64_t bytes, Clock::time_point since) {
  return static_cast<double>(bytes) / std::chrono::duration<double>(Clock::now() - since).count() / 1e9;
}

// One-way bulk stream from a forked peer, read in 256 KiB recv calls (the tcp suite's baseline).
double tcp_stream_gb_per_s(size_t total_bytes) {
  constexpr size_t kChunk = 256 * 1024;
  const auto [fd, pid] = fork_peer([&](int peer) {
    std::vector<uint8_t> chunk(kChunk, 0x5A);
    for (size_t sent = 0; sent < total_bytes; sent += kChunk)
      if (!write_all(peer, chunk.data(), std::min(kChunk, total_bytes - sent))) return;
  });
  std::vector<uint8_t> buf(kChunk);
  size_t received = 0;
  const auto t0 = Clock::now();
  while (received < total_bytes) {
    const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r <= 0) die("copy suite: stream recv");
    received += static_cast<size_t>(r);
  }
  const double rate = gb_per_s(total_bytes, t0);
  ::close(fd);
  reap(pid);
  return rate;
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
  const CopyFigures copy = copy_figures(daemon, opts.quick ? 3 : 7);
  const double tcp = tcp_stream_gb_per_s(opts.quick ? (size_t{2} << 30) : (size_t{8} << 30));
  report.figure("copy_to_remote_gb_per_s", copy.to_remote);
  report.figure("copy_from_remote_gb_per_s", copy.from_remote);
  report.figure("tcp_stream_gb_per_s", tcp);
  report.figure("copy_over_tcp", std::min(copy.to_remote, copy.from_remote) / tcp);
  if (!daemon.stop()) die("the copy bench daemon did not exit on SIGTERM");
}

}  // namespace

ECHELON_BENCH_SUITE(copy, "copy",
                    "256 MiB remote_copy_to / remote_copy_from on a loopback session, against a raw TCP stream",
                    run_copy);

}  // namespace echelon::bench
