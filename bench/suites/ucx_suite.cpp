// ucx: raw UCP put bandwidth between two processes through the UCX module (libechelon_ucx.so,
// loaded like the ucx profile loads it). Both sides are forked from this (UCX-free) process and set
// their own UCX_TLS before creating their context, so other suites of `all` never see UCX state.
// The target registers a 64 MiB buffer and exports {worker address, packed rkey, address}; the
// initiator puts its (registered) 64 MiB source there and flushes to remote completion, per
// repetition. Figures (GB/s = 1e9 bytes/s, median over repetitions):
//   ucx_put_bw_gb_per_s      UCX_TLS=posix,self (shared memory)
//   ucx_put_bw_tcp_gb_per_s  UCX_TLS=tcp,self with UCX_NET_DEVICES=lo
// The profile figures of the issue (remote RTT and copies over ucx) need the full profile and are
// not printed here.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "bench_suite.h"
#include "loopback_tcp.h"
#include "transport/ucx_module.h"

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

void run(const BenchOptions& opts, Report& report) {
  // Shared-memory puts on UCX 1.13 are emulated with acknowledged messages, so they need both
  // processes scheduled promptly and drop sharply when other work competes for the cores; the
  // median over repetitions keeps one bad repetition out of the figure.
  const int reps = opts.quick ? 5 : 20;
  report.figure("ucx_put_bw_gb_per_s", put_bandwidth("posix,self", reps));
  report.figure("ucx_put_bw_tcp_gb_per_s", put_bandwidth("tcp,self", reps));
}

#else

void run(const BenchOptions&, Report&) {
  std::fprintf(stderr, "echelon-bench ucx: ucx not built (ECHELON_WITH_UCX=OFF); no ucx figures\n");
}

#endif

}  // namespace

ECHELON_BENCH_SUITE(ucx, "ucx", "raw UCP put bandwidth between two processes (posix,self and tcp,self)", run);

}  // namespace echelon::bench
