// tcp: the raw loopback TCP baseline the host_tcp profile is measured against - a ping-pong of
// small messages (round-trip latency) and a one-way bulk stream (throughput) between two
// processes, with plain blocking sockets and TCP_NODELAY, nothing of echelon in the path.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_suite.h"

namespace echelon::bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void set_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("setsockopt(TCP_NODELAY)");
}

// A listener on 127.0.0.1 with an ephemeral port; returns {fd, port}.
std::pair<int, uint16_t> listen_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0 || ::listen(fd, 1) < 0) die("bind/listen");
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) die("getsockname");
  return {fd, ntohs(addr.sin_port)};
}

int connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("connect");
  set_nodelay(fd);
  return fd;
}

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_exact(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Forks a child that connects back and runs `child_body(fd)`; returns the parent's accepted fd.
template <typename Body>
std::pair<int, pid_t> fork_peer(Body child_body) {
  const auto [listener, port] = listen_loopback();
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::close(listener);
    const int fd = connect_loopback(port);
    child_body(fd);
    ::_exit(0);
  }
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) die("accept");
  ::close(listener);
  set_nodelay(fd);
  return {fd, pid};
}

void reap(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
}

constexpr size_t PING_BYTES = 64;  // about one header-only SLR3 frame plus slack

double pingpong_rtt_p50_us(int iterations) {
  const auto [fd, pid] = fork_peer([&](int peer) {
    uint8_t buf[PING_BYTES];
    while (read_exact(peer, buf, sizeof buf) && write_all(peer, buf, sizeof buf)) {
    }
  });
  uint8_t buf[PING_BYTES] = {};
  std::vector<double> rtt;
  rtt.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = Clock::now();
    if (!write_all(fd, buf, sizeof buf) || !read_exact(fd, buf, sizeof buf)) die("ping-pong");
    rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  ::close(fd);  // the child sees EOF and exits
  reap(pid);
  std::nth_element(rtt.begin(), rtt.begin() + rtt.size() / 2, rtt.end());
  return rtt[rtt.size() / 2];
}

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
  report.figure("tcp_pingpong_rtt_us_p50", pingpong_rtt_p50_us(opts.quick ? 20000 : 100000));
  report.figure("tcp_stream_gb_per_s", stream_gb_per_s(opts.quick ? (size_t{2} << 30) : (size_t{8} << 30)));
}

}  // namespace

ECHELON_BENCH_SUITE(tcp, "tcp", "raw loopback TCP between two processes: ping-pong RTT, bulk stream", run);

}  // namespace echelon::bench
