#include "loopback_tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <vector>

namespace echelon::bench {

void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void set_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("setsockopt(TCP_NODELAY)");
}

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

int accept_peer(int listener) {
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) die("accept");
  set_nodelay(fd);
  return fd;
}

void reap(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
}

namespace {
constexpr size_t PING_BYTES = 64;  // about one header-only SLR3 frame plus slack
}  // namespace

TcpPingPong::TcpPingPong() {
  std::tie(fd_, pid_) = fork_peer([](int peer) {
    uint8_t buf[PING_BYTES];
    while (read_exact(peer, buf, sizeof buf) && write_all(peer, buf, sizeof buf)) {
    }
  });
}

TcpPingPong::~TcpPingPong() {
  ::close(fd_);  // the child sees EOF and exits
  reap(pid_);
}

double TcpPingPong::once_us() {
  using Clock = std::chrono::steady_clock;
  uint8_t buf[PING_BYTES] = {};
  const auto t0 = Clock::now();
  if (!write_all(fd_, buf, sizeof buf) || !read_exact(fd_, buf, sizeof buf)) die("ping-pong");
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

namespace {

// Where the next call of up to `want` bytes goes in a buffer of `buffer_bytes`: at `pos`, or at
// the front when fewer than `want` bytes of room are left there.
size_t stream_offset(size_t pos, size_t buffer_bytes, size_t want) {
  return buffer_bytes - pos < want ? 0 : pos;
}

}  // namespace

std::vector<double> tcp_stream_gb_per_s(const TcpStreamShape& shape, int repetitions) {
  const size_t buffer_bytes = shape.buffer_bytes, total = shape.total_bytes;
  const size_t io = std::min(shape.io_bytes, buffer_bytes);
  if (io == 0) die("tcp stream: empty buffer or call size");
  const auto [fd, pid] = fork_peer([&](int peer) {
    std::vector<uint8_t> src(buffer_bytes, 0x5A);  // filled, so every page is faulted in
    uint8_t go = 1;
    if (!write_all(peer, &go, 1)) return;  // ready
    while (read_exact(peer, &go, 1)) {
      size_t pos = 0;
      for (size_t sent = 0; sent < total;) {
        const size_t len = std::min(io, total - sent);
        pos = stream_offset(pos, buffer_bytes, len);
        if (!write_all(peer, src.data() + pos, len)) return;
        pos += len;
        sent += len;
      }
    }
  });
  std::vector<uint8_t> dst(buffer_bytes, 0xA5);  // filled, so every page is faulted in
  uint8_t go = 0;
  if (!read_exact(fd, &go, 1)) die("tcp stream: the peer did not get ready");
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(std::max(repetitions, 0)));
  for (int i = 0; i < repetitions; ++i) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    if (!write_all(fd, &go, 1)) die("tcp stream: go");
    size_t pos = 0;
    for (size_t received = 0; received < total;) {
      const size_t want = std::min(io, total - received);
      pos = stream_offset(pos, buffer_bytes, want);
      const ssize_t r = ::recv(fd, dst.data() + pos, want, 0);
      if (r <= 0) die("tcp stream: recv");
      pos += static_cast<size_t>(r);
      received += static_cast<size_t>(r);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    samples.push_back(static_cast<double>(total) / seconds / 1e9);
  }
  ::close(fd);  // the peer sees EOF instead of a go and exits
  reap(pid);
  return samples;
}

double tcp_stream_hot_gb_per_s(bool quick) {
  constexpr size_t kHotBytes = 256 * 1024;
  const TcpStreamShape hot{kHotBytes, quick ? (size_t{2} << 30) : (size_t{8} << 30), kHotBytes};
  return tcp_stream_gb_per_s(hot, 1).front();
}

double tcp_pingpong_rtt_p50_us(int iterations) {
  TcpPingPong peer;
  std::vector<double> rtt;
  rtt.reserve(iterations);
  for (int i = 0; i < iterations; ++i) rtt.push_back(peer.once_us());
  std::nth_element(rtt.begin(), rtt.begin() + rtt.size() / 2, rtt.end());
  return rtt[rtt.size() / 2];
}

}  // namespace echelon::bench
