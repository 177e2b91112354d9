// Raw loopback TCP between two processes for the bench baselines: plain blocking sockets with
// TCP_NODELAY, nothing of echelon in the path. Failures end the bench (die).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

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

// The shape of a one-way bulk stream. Each side owns one prefaulted buffer of `buffer_bytes`; the
// sender writes from its buffer and the receiver receives into its own at the running offset, in
// calls of up to `io_bytes`, starting over at the front when the room left is less than one call.
// A buffer as large as the stream is the buffer-to-buffer copy of a large user buffer (memory
// bound); a buffer of one call streams the same cache-hot bytes over and over.
struct TcpStreamShape {
  size_t buffer_bytes = 0;
  size_t total_bytes = 0;
  size_t io_bytes = 0;
};

// `repetitions` streams of `shape.total_bytes` from one forked peer to the caller over one loopback
// TCP connection, one GB/s sample each. Both buffers are filled before the first stream; each
// stream's clock starts when the caller tells the ready peer to go and stops at the last byte.
std::vector<double> tcp_stream_gb_per_s(const TcpStreamShape& shape, int repetitions);

// The cache-hot stream (the tcp suite's stream figure): one 256 KiB buffer each side, 256 KiB
// calls, 2 GiB (quick) or 8 GiB in one stream.
double tcp_stream_hot_gb_per_s(bool quick);

// Median round trip of `iterations` small-message ping-pongs with a forked echo peer, in µs.
double tcp_pingpong_rtt_p50_us(int iterations);

}  // namespace echelon::bench
