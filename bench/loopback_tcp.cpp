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

double tcp_pingpong_rtt_p50_us(int iterations) {
  TcpPingPong peer;
  std::vector<double> rtt;
  rtt.reserve(iterations);
  for (int i = 0; i < iterations; ++i) rtt.push_back(peer.once_us());
  std::nth_element(rtt.begin(), rtt.begin() + rtt.size() / 2, rtt.end());
  return rtt[rtt.size() / 2];
}

}  // namespace echelon::bench
