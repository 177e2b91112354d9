// tcp: the raw loopback TCP baseline the host_tcp profile is measured against - a ping-pong of
// small messages (round-trip latency) and a one-way bulk stream (throughput) between two
// processes, with plain blocking sockets and TCP_NODELAY, nothing of echelon in the path.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "bench_suite.h"
#include "loopback_tcp.h"

namespace echelon::bench {
namespace {

using Clock = std::chrono::steady_clock;

double stream_gb_per_s(size_t total_bytes) {
  constexpr size_t CHUNK = 256 * 1024;
  const auto [fd, pid] = fork_peer([&](int peer) {
    std::vector<uint8_t> chunk(CHUNK, 0x5A);
    for (size_t sent = 0; sent < total_bytes; sent += CHUNK)
      if (!write_all(peer, chunk.data(), std::min(CHUNK, total_bytes - sent))) return;
  });
  std::vector<uint8_t> buf(CHUNK);
  size_t received = 0;
  const auto t0 = Clock::now();
  while (received < total_bytes) {
    const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r <= 0) die("stream recv");
    received += static_cast<size_t>(r);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  reap(pid);
  return static_cast<double>(total_bytes) / seconds / 1e9;
}

void run(const BenchOptions& opts, Report& report) {
  report.figure("tcp_pingpong_rtt_us_p50", tcp_pingpong_rtt_p50_us(opts.quick ? 20000 : 100000));
  report.figure("tcp_stream_gb_per_s", stream_gb_per_s(opts.quick ? (size_t{2} << 30) : (size_t{8} << 30)));
}

}  // namespace

ECHELON_BENCH_SUITE(tcp, "tcp", "raw loopback TCP between two processes: ping-pong RTT, bulk stream", run);

}  // namespace echelon::bench
