// tcp: the raw loopback TCP baseline the host_tcp profile is measured against - a ping-pong of
// small messages (round-trip latency) and a one-way bulk stream of a cache-hot 256 KiB buffer
// (throughput, bench/loopback_tcp.h) between two processes, with plain blocking sockets and TCP_NODELAY, nothing of echelon in the path.
#include "bench_suite.h"
#include "loopback_tcp.h"

namespace echelon::bench {
namespace {

void run(const BenchOptions& opts, Report& report) {
  report.figure("tcp_pingpong_rtt_us_p50", tcp_pingpong_rtt_p50_us(opts.quick ? 20000 : 100000));
  report.figure("tcp_stream_gb_per_s", tcp_stream_hot_gb_per_s(opts.quick));
}

}  // namespace

ECHELON_BENCH_SUITE(tcp, "tcp", "raw loopback TCP between two processes: ping-pong RTT, bulk stream", run);

}  // namespace echelon::bench
