// Raw loopback TCP between two processes for the bench baselines: plain blocking sockets with
// TCP_NODELAY, nothing of echelon in the path. Failures end the bench (die).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace echelon::bench {

[[noreturn]] void die(const char* what);
void set_nodelay(int fd);
// A listener on 127.0.0.1 with an ephemeral port; returns {fd, port}.
std::pair<int, uint16_t> listen_loopback();
int connect_loopback(uint16_t port);
bool write_all(int fd, const uint8_t* p, size_t n);
bool read_exact(int fd, uint8_t* p, size_t n);
int accept_peer(int listener);
void reap(pid_t pid);

// Forks a child that connects back and runs `child_body(fd)`; returns the parent's accepted fd
// and the child's pid.
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
  const int fd = accept_peer(listener);
  ::close(listener);
  return {fd, pid};
}

// A forked echo peer for small-message ping-pongs. Fork it before the caller starts threads.
class TcpPingPong {
 public:
  TcpPingPong();
  ~TcpPingPong();
  TcpPingPong(const TcpPingPong&) = delete;
  TcpPingPong& operator=(const TcpPingPong&) = delete;
  // One round trip, in µs.
  double once_us();

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
};

// Median round trip of `iterations` small-message ping-pongs with a forked echo peer, in µs.
double tcp_pingpong_rtt_p50_us(int iterations);

}  // namespace echelon::bench
