// ucx: the ucx transport profile against its raw baselines, each configuration in a forked child
// that sets UCX_TLS before creating any UCX object, so other suites of `all` never see UCX state.
//
// Raw UCP put bandwidth between two processes through the UCX module (libechelon_ucx.so): the
// target registers a 64 MiB buffer and exports {worker address, packed rkey, address}; the
// initiator puts its (registered) 64 MiB source there and flushes to remote completion.
//   ucx_put_bw_gb_per_s / ucx_put_bw_tcp_gb_per_s       UCX_TLS=posix,self / tcp,self (lo)
// The profile: a real daemon and runner on loopback, a parent Worker with transport "ucx".
//   ucx_lane_rtt_us_p50 / _tcp                            raw owner-driven command lanes between two
//                                                         processes: header-only frame ping-pong
//   ucx_remote_rtt_us_p50 / _tcp                          one no-op remote task per run(), runs
//                                                         back to back in blocks of 50
//   host_tcp_remote_rtt_us_p50                            the same on host_tcp, its blocks
//                                                         alternating with the posix ones (same
//                                                         machine state)
//   ucx_rtt_over_host_tcp                                 goal <= 1
//   host_tcp_remote_rtt_tcp_run_us_p50, ucx_rtt_tcp_over_host_tcp   the same for the tcp run
//   ucx_remote_rtt_idle_us_p50 / host_tcp_remote_rtt_idle_us_p50 / ucx_rtt_idle_over_host_tcp
//                                                         posix run: single tasks 200 us apart,
//                                                         so every thread on both sides sleeps
//                                                         before each (alternating per task)
//   ucx_copy_to_remote_gb_per_s / ucx_copy_from_remote_gb_per_s / _tcp
//                                                         256 MiB remote_copy_to / _from: version-2
//                                                         RMA copies over posix; over tcp in frames
//                                                         (UCX emulates RMA through the parent there)
//   ucx_copy_over_put / ucx_copy_over_put_tcp             lower copy figure over the put bandwidth
//                                                         of the same transports (goal >= 0.6)
// GB/s = 1e9 bytes/s; every figure is a median over repetitions.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_remote.h"
#include "bench_stats.h"
#include "bench_suite.h"
#include "echelon/remote_buffer.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"
#include "loopback_tcp.h"
#include "transport/ucx_lane.h"
#include "transport/ucx_module.h"
#include "wire/frame_codec.h"

namespace echelon::bench {
namespace {

#ifdef ECHELON_HAVE_UCX

namespace ucx = transport::ucx;
using namespace std::chrono_literals;

constexpr size_t kPutBytes = size_t{64} << 20;

uint8_t expected_byte(size_t i) { return static_cast<uint8_t>(i * 7 + (i >> 16)); }

void send_blob(int fd, const std::vector<uint8_t>& blob) {
  const uint64_t n = blob.size();
  if (!write_all(fd, reinterpret_cast<const uint8_t*>(&n), sizeof n) || !write_all(fd, blob.data(), blob.size()))
    die("ucx suite: link write");
}

std::vector<uint8_t> receive_blob(int fd) {
  uint64_t n = 0;
  if (!read_exact(fd, reinterpret_cast<uint8_t*>(&n), sizeof n) || n > (1u << 20)) die("ucx suite: link read");
  std::vector<uint8_t> blob(n);
  if (!read_exact(fd, blob.data(), n)) die("ucx suite: link read");
  return blob;
}

void send_u64(int fd, uint64_t v) {
  if (!write_all(fd, reinterpret_cast<const uint8_t*>(&v), sizeof v)) die("ucx suite: link write");
}

uint64_t receive_u64(int fd) {
  uint64_t v = 0;
  if (!read_exact(fd, reinterpret_cast<uint8_t*>(&v), sizeof v)) die("ucx suite: link read");
  return v;
}

// Runs `body` in a child with the given UCX environment; a failure there ends the child with a
// message naming the transport.
template <typename Body>
pid_t fork_side(const char* tls, Body body) {
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid != 0) return pid;
  ::setenv("UCX_TLS", tls, 1);
  if (std::strstr(tls, "tcp") != nullptr) ::setenv("UCX_NET_DEVICES", "lo", 1);
  try {
    body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echelon-bench ucx (UCX_TLS=%s): %s\n", tls, e.what());
    ::_exit(1);
  }
  ::_exit(0);
}

// The target: registers its buffer, exports it, and progresses its worker (UCX over TCP emulates
// puts with messages the target must handle) until the initiator says it is done; then checks
// the bytes and answers.
void target_side(int link) {
  auto ctx = transport::load_ucx_module().context();
  auto worker = ctx->create_worker("bench-target");
  std::vector<uint8_t> buffer(kPutBytes, 0);
  auto reg = ctx->register_memory(buffer.data(), buffer.size());
  send_blob(link, worker->address());
  send_blob(link, reg->packed_rkey());
  send_u64(link, reinterpret_cast<uint64_t>(reg->base()));
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    receive_u64(link);
    done = true;
    worker->wake();
  });
  while (!done) {
    if (!worker->progress()) worker->wait(transport::deadline_in(1s));
  }
  watcher.join();
  uint64_t ok = 1;
  for (size_t i = 0; i < kPutBytes; i += 4093) ok &= buffer[i] == expected_byte(i) ? 1 : 0;
  ok &= buffer[kPutBytes - 1] == expected_byte(kPutBytes - 1) ? 1 : 0;
  send_u64(link, ok);
}

// The initiator: one warm-up put, then `reps` timed put + flush of the whole buffer; writes the
// median rate (GB/s, as the bits of a double) to `result`.
void initiator_side(int link, int result, int reps) {
  auto ctx = transport::load_ucx_module().context();
  auto worker = ctx->create_worker("bench-initiator");
  const auto address = receive_blob(link);
  const auto packed = receive_blob(link);
  const uint64_t remote = receive_u64(link);
  auto ep = worker->connect(address, nullptr);  // data plane: no peer error mode (posix has none)
  auto key = ep->unpack_rkey(packed);
  std::vector<uint8_t> source(kPutBytes);
  for (size_t i = 0; i < kPutBytes; ++i) source[i] = expected_byte(i);
  auto reg = ctx->register_memory(source.data(), source.size());  // zero-copy where UCX can
  const auto put_once = [&] {
    ep->put(source.data(), source.size(), remote, *key)->wait(transport::deadline_in(60s));
    ep->flush()->wait(transport::deadline_in(60s));
  };
  put_once();
  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = BenchClock::now();
    put_once();
    rates.push_back(static_cast<double>(kPutBytes) / (elapsed_us(t0) * 1e3));
  }
  send_u64(link, 1);
  if (receive_u64(link) != 1) throw std::runtime_error("the target's buffer does not hold the put bytes");
  const double rate = median(rates);
  uint64_t bits;
  std::memcpy(&bits, &rate, sizeof bits);
  if (::write(result, &bits, sizeof bits) != sizeof bits) die("ucx suite: result pipe");  // a pipe: no send()
}

bool exited_ok(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double put_bandwidth(const char* tls, int reps) {
  int link[2], result[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) != 0) die("socketpair");
  if (::pipe2(result, O_CLOEXEC) != 0) die("pipe2");
  const pid_t target = fork_side(tls, [&] { target_side(link[0]); });
  const pid_t initiator = fork_side(tls, [&] { initiator_side(link[1], result[1], reps); });
  ::close(link[0]);
  ::close(link[1]);
  ::close(result[1]);
  uint64_t bits = 0;
  const bool got = ::read(result[0], &bits, sizeof bits) == sizeof bits;
  ::close(result[0]);
  const bool ok = exited_ok(initiator) & exited_ok(target);
  if (!got || !ok) {
    std::fprintf(stderr, "echelon-bench ucx: the UCX_TLS=%s put measurement failed (see above)\n", tls);
    std::exit(1);
  }
  double rate;
  std::memcpy(&rate, &bits, sizeof rate);
  return rate;
}

// ---- raw lanes: the transport's share of a round trip -------------------------------------------

ucx::LaneOptions lane_options(ucx::LaneSide side) {
  ucx::LaneOptions o;
  o.kind = ucx::LaneKind::COMMAND;
  o.side = side;
  o.name = side == ucx::LaneSide::PARENT ? "bench-parent" : "bench-runner";
  o.first_sequence = 1;
  o.owner_driven = true;
  return o;
}

std::vector<uint8_t> lane_frame(wire::FrameType type, uint64_t seq) {
  return wire::encode_frame(type, wire::FrameRoute{1, 0, seq, 0}, std::span<const uint8_t>{});
}

// Two processes, one owner-driven command lane each (as the profile uses them): `runs` header-only
// TASK -> COMPLETION ping-pongs; the median round trip in µs goes to `result`.
double lane_rtt_us(const char* tls, int runs) {
  int link[2], result[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) != 0) die("socketpair");
  if (::pipe2(result, O_CLOEXEC) != 0) die("pipe2");
  const pid_t runner = fork_side(tls, [&] {
    auto lane = transport::UcxLaneChannel::create(lane_options(ucx::LaneSide::RUNNER));
    send_blob(link[0], lane->worker_address());
    lane->connect(receive_blob(link[0]), transport::deadline_in(20s));
    for (int i = 1; i <= runs; ++i) {
      const transport::InboundFrame f = lane->receive(transport::deadline_in(20s));
      lane->post(lane_frame(wire::FrameType::COMPLETION, f.header.sequence));
    }
    receive_u64(link[0]);
  });
  const pid_t parent = fork_side(tls, [&] {
    auto lane = transport::UcxLaneChannel::create(lane_options(ucx::LaneSide::PARENT));
    send_blob(link[1], lane->worker_address());
    lane->connect(receive_blob(link[1]), transport::deadline_in(20s));
    std::vector<double> rtt;
    for (int i = 1; i <= runs; ++i) {
      const auto t0 = BenchClock::now();
      lane->post(lane_frame(wire::FrameType::TASK, static_cast<uint64_t>(i)));
      (void)lane->receive(transport::deadline_in(20s));
      rtt.push_back(elapsed_us(t0));
    }
    send_u64(link[1], 1);
    const double p50 = median(rtt);
    if (::write(result[1], &p50, sizeof p50) != sizeof p50) die("ucx suite: result pipe");
  });
  ::close(link[0]);
  ::close(link[1]);
  ::close(result[1]);
  double p50 = 0;
  const bool got = ::read(result[0], &p50, sizeof p50) == sizeof p50;
  ::close(result[0]);
  if (!(exited_ok(parent) & exited_ok(runner)) || !got) {
    std::fprintf(stderr, "echelon-bench ucx: the UCX_TLS=%s lane measurement failed (see above)\n", tls);
    std::exit(1);
  }
  return p50;
}

// ---- the profile --------------------------------------------------------------------------------

struct ProfileFigures {
  double rtt_us_p50 = 0;
  double host_tcp_rtt_us_p50 = 0;
  double idle_rtt_us_p50 = 0;
  double host_tcp_idle_rtt_us_p50 = 0;
  double copy_to_gb_per_s = 0;
  double copy_from_gb_per_s = 0;
};

const RemoteCallable& noop_entry() {
  static const RemoteCallable entry = RemoteCallable::native("echelon_bench:bench_noop");
  return entry;
}

constexpr uint64_t kCopyBytes = uint64_t{256} << 20;

// Blocks of back-to-back runs alternate between the sessions: a stream of tasks, as a DAG sends
// them, with both sessions measured under the same machine state. (Alternating single runs would
// measure each session after an idle gap of the other's run, whose length decides whether the
// threads on each side are still awake: on a 2-core VM that is a coin toss, not a figure.)
constexpr int kRunsPerBlock = 50;
constexpr auto kIdleGap = std::chrono::microseconds(200);

// In the child: one ucx session and one host_tcp session on the same daemon; single-task runs in
// alternating blocks, then (if `idle_runs`) single tasks after an idle gap, then the ucx session
// copies 256 MiB each way.
ProfileFigures measure_profile(int runs, int idle_runs, int copy_reps) {
  remote::LocalDaemon daemon(bench_daemon_options());  // inherits UCX_TLS: its runners use it
  Worker w(4, bench_parent_options());
  RemoteWorkerSpec ucx_spec = bench_loopback_spec(daemon);
  ucx_spec.transport_profile = "ucx";
  const WorkerId ucx_id = w.add_remote_worker(ucx_spec);
  const WorkerId tcp_id = w.add_remote_worker(bench_loopback_spec(daemon));
  const auto noop = w.register_callable(noop_entry(), {ucx_id, tcp_id});
  w.init();
  const auto one_run = [&](WorkerId id, std::vector<double>& into) {
    const auto t0 = BenchClock::now();
    w.run([&](Orchestrator& o) { o.submit_next_level(noop, TaskArgs{}, {}, id); });
    into.push_back(elapsed_us(t0));
  };
  std::vector<double> rtt, tcp_rtt;
  for (int i = 0; i < runs; i += kRunsPerBlock) {
    for (int k = 0; k < kRunsPerBlock; ++k) one_run(ucx_id, rtt);
    for (int k = 0; k < kRunsPerBlock; ++k) one_run(tcp_id, tcp_rtt);
  }
  std::vector<double> idle, tcp_idle;
  for (int i = 0; i < idle_runs; ++i) {
    std::this_thread::sleep_for(kIdleGap);
    one_run(ucx_id, idle);
    std::this_thread::sleep_for(kIdleGap);
    one_run(tcp_id, tcp_idle);
  }
  const RemoteBufferHandle buf = w.remote_malloc(ucx_id, kCopyBytes);
  std::vector<std::byte> src(kCopyBytes, std::byte{0x3C}), dst(kCopyBytes, std::byte{0});
  std::vector<double> to, from;
  for (int i = 0; i < copy_reps; ++i) {
    auto t0 = BenchClock::now();
    w.remote_copy_to(buf, 0, src);
    to.push_back(static_cast<double>(kCopyBytes) / (elapsed_us(t0) * 1e3));
    t0 = BenchClock::now();
    w.remote_copy_from(buf, 0, dst);
    from.push_back(static_cast<double>(kCopyBytes) / (elapsed_us(t0) * 1e3));
  }
  if (dst != src) throw std::runtime_error("the bytes copied back differ from the bytes copied out");
  w.remote_free(buf);
  w.close();
  if (!daemon.stop()) throw std::runtime_error("the bench daemon did not exit on SIGTERM");
  ProfileFigures f{median(rtt), median(tcp_rtt), 0, 0, median(to), median(from)};
  if (idle_runs > 0) {
    f.idle_rtt_us_p50 = median(idle);
    f.host_tcp_idle_rtt_us_p50 = median(tcp_idle);
  }
  return f;
}

ProfileFigures profile_figures(const char* tls, int runs, int idle_runs, int copy_reps) {
  int result[2];
  if (::pipe2(result, O_CLOEXEC) != 0) die("pipe2");
  const pid_t child = fork_side(tls, [&] {
    const ProfileFigures f = measure_profile(runs, idle_runs, copy_reps);
    if (::write(result[1], &f, sizeof f) != sizeof f) die("ucx suite: result pipe");
  });
  ::close(result[1]);
  ProfileFigures f;
  const bool got = ::read(result[0], &f, sizeof f) == sizeof f;
  ::close(result[0]);
  if (!exited_ok(child) || !got) {
    std::fprintf(stderr, "echelon-bench ucx: the UCX_TLS=%s profile measurement failed (see above)\n", tls);
    std::exit(1);
  }
  return f;
}

void run(const BenchOptions& opts, Report& report) {
  // Shared-memory puts on UCX 1.13 are emulated with acknowledged messages, so they need both
  // processes scheduled promptly and drop sharply when other work competes for the cores; the
  // median over repetitions keeps one bad repetition out of the figure.
  const int reps = opts.quick ? 5 : 20;
  const double put = put_bandwidth("posix,self", reps);
  const double put_tcp = put_bandwidth("tcp,self", reps);
  report.figure("ucx_put_bw_gb_per_s", put);
  report.figure("ucx_put_bw_tcp_gb_per_s", put_tcp);
  const int runs = opts.quick ? 1000 : 10000;
  report.figure("ucx_lane_rtt_us_p50", lane_rtt_us("posix,self", runs));
  report.figure("ucx_lane_rtt_tcp_us_p50", lane_rtt_us("tcp,self", runs));
  const int copy_reps = opts.quick ? 3 : 7;
  const int idle_runs = opts.quick ? 200 : 2000;
  const ProfileFigures shm = profile_figures("posix,self", runs, idle_runs, copy_reps);
  const ProfileFigures tcp = profile_figures("tcp,self", runs, 0, copy_reps);
  report.figure("ucx_remote_rtt_us_p50", shm.rtt_us_p50);
  report.figure("ucx_remote_rtt_tcp_us_p50", tcp.rtt_us_p50);
  report.figure("host_tcp_remote_rtt_us_p50", shm.host_tcp_rtt_us_p50);
  report.figure("ucx_rtt_over_host_tcp", shm.rtt_us_p50 / shm.host_tcp_rtt_us_p50);
  report.figure("host_tcp_remote_rtt_tcp_run_us_p50", tcp.host_tcp_rtt_us_p50);
  report.figure("ucx_rtt_tcp_over_host_tcp", tcp.rtt_us_p50 / tcp.host_tcp_rtt_us_p50);
  report.figure("ucx_remote_rtt_idle_us_p50", shm.idle_rtt_us_p50);
  report.figure("host_tcp_remote_rtt_idle_us_p50", shm.host_tcp_idle_rtt_us_p50);
  report.figure("ucx_rtt_idle_over_host_tcp", shm.idle_rtt_us_p50 / shm.host_tcp_idle_rtt_us_p50);
  report.figure("ucx_copy_to_remote_gb_per_s", shm.copy_to_gb_per_s);
  report.figure("ucx_copy_from_remote_gb_per_s", shm.copy_from_gb_per_s);
  report.figure("ucx_copy_to_remote_tcp_gb_per_s", tcp.copy_to_gb_per_s);
  report.figure("ucx_copy_from_remote_tcp_gb_per_s", tcp.copy_from_gb_per_s);
  report.figure("ucx_copy_over_put", std::min(shm.copy_to_gb_per_s, shm.copy_from_gb_per_s) / put);
  report.figure("ucx_copy_over_put_tcp", std::min(tcp.copy_to_gb_per_s, tcp.copy_from_gb_per_s) / put_tcp);
}

#else

void run(const BenchOptions&, Report&) {
  std::fprintf(stderr, "echelon-bench ucx: ucx not built (ECHELON_WITH_UCX=OFF); no ucx figures\n");
}

#endif

}  // namespace

ECHELON_BENCH_SUITE(ucx, "ucx",
                    "the ucx profile (remote RTT, RMA copies) against raw UCP puts and host_tcp, for posix,self "
                    "and tcp,self",
                    run);

}  // namespace echelon::bench
