#include "remote/handoff_io.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "fmt/format.h"
#include "transport/fd.h"

namespace echelon::remote {
namespace {

constexpr size_t LEN_BYTES = 4;

void put_u32le(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t get_u32le(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Reads up to `n` bytes; returns how many arrived before EOF. Throws on the deadline.
size_t read_bounded(int fd, uint8_t* buf, size_t n, transport::Deadline deadline, const char* what) {
  size_t got = 0;
  while (got < n) {
    const short ev = transport::poll_fd(fd, POLLIN, deadline);
    if (ev == 0) throw HandoffError(fmt::format("{}: deadline passed after {} of {} bytes", what, got, n), true);
    // poll said readable (or hung up): this read returns at once with data or EOF.
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) throw HandoffError(fmt::format("{}: read failed: {}", what, std::strerror(errno)), false);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

void read_exact(int fd, uint8_t* buf, size_t n, transport::Deadline deadline, const char* what) {
  const size_t got = read_bounded(fd, buf, n, deadline, what);
  if (got != n) throw HandoffError(fmt::format("{}: pipe closed after {} of {} bytes", what, got, n), false);
}

void expect_eof(int fd, transport::Deadline deadline, const char* what) {
  uint8_t extra = 0;
  if (read_bounded(fd, &extra, 1, deadline, what) != 0) throw HandoffError(fmt::format("{}: trailing bytes after the message", what), false);
}

// Blocks SIGPIPE for the calling thread while writing to a pipe whose reader may be gone, and
// swallows a SIGPIPE this write raised, so a dead runner is an error, never a dead daemon.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending_before_);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask_);
  }
  ~SigpipeGuard() {
    if (raised_ && !sigismember(&pending_before_, SIGPIPE)) {
      sigset_t pipe_only;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  void note_epipe() { raised_ = true; }

 private:
  sigset_t old_mask_{};
  sigset_t pending_before_{};
  bool raised_ = false;
};

}  // namespace

std::vector<uint8_t> encode_handoff(std::string_view manifest, std::span<const uint8_t> key) {
  std::vector<uint8_t> out;
  out.reserve(2 * LEN_BYTES + manifest.size() + key.size());
  put_u32le(out, static_cast<uint32_t>(manifest.size()));
  out.insert(out.end(), manifest.begin(), manifest.end());
  put_u32le(out, static_cast<uint32_t>(key.size()));
  out.insert(out.end(), key.begin(), key.end());
  return out;
}

void write_all_bounded(int fd, std::span<const uint8_t> bytes, transport::Deadline deadline, const char* what) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    throw HandoffError(fmt::format("{}: fcntl failed: {}", what, std::strerror(errno)), false);
  SigpipeGuard guard;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EPIPE) {
      guard.note_epipe();
      throw HandoffError(fmt::format("{}: reader closed the pipe after {} of {} bytes", what, done, bytes.size()), false);
    }
    if (w < 0 && errno != EAGAIN)
      throw HandoffError(fmt::format("{}: write failed: {}", what, std::strerror(errno)), false);
    const short ev = transport::poll_fd(fd, POLLOUT, deadline);
    if (ev == 0)
      throw HandoffError(fmt::format("{}: deadline passed after {} of {} bytes", what, done, bytes.size()), true);
  }
}

RunnerHandoff read_handoff(int fd, transport::Deadline deadline, size_t max_manifest_bytes) {
  uint8_t len[LEN_BYTES];
  read_exact(fd, len, LEN_BYTES, deadline, "handoff manifest_len");
  const uint32_t manifest_len = get_u32le(len);
  if (manifest_len == 0 || manifest_len > max_manifest_bytes)
    throw HandoffError(fmt::format("handoff manifest_len {} is outside 1..{}", manifest_len, max_manifest_bytes), false);
  RunnerHandoff h;
  h.manifest_json.resize(manifest_len);
  read_exact(fd, reinterpret_cast<uint8_t*>(h.manifest_json.data()), manifest_len, deadline, "handoff manifest");
  read_exact(fd, len, LEN_BYTES, deadline, "handoff key_len");
  const uint32_t key_len = get_u32le(len);
  if (key_len != 0 && key_len != SESSION_KEY_BYTES)
    throw HandoffError(fmt::format("handoff key_len {} must be 0 or {}", key_len, SESSION_KEY_BYTES), false);
  h.session_key.resize(key_len);
  read_exact(fd, h.session_key.data(), key_len, deadline, "handoff session key");
  expect_eof(fd, deadline, "handoff");
  return h;
}

void write_status(int fd, const RunnerStatus& status, transport::Deadline deadline) {
  const std::string json = to_json(status);
  if (json.size() > MAX_STATUS_BYTES)
    throw HandoffError(fmt::format("status message is {} bytes, at most {}", json.size(), MAX_STATUS_BYTES), false);
  std::vector<uint8_t> out;
  put_u32le(out, static_cast<uint32_t>(json.size()));
  out.insert(out.end(), json.begin(), json.end());
  write_all_bounded(fd, out, deadline, "status");
}

std::optional<RunnerStatus> read_status(int fd, transport::Deadline deadline) {
  uint8_t len[LEN_BYTES];
  const size_t got = read_bounded(fd, len, LEN_BYTES, deadline, "status_len");
  if (got == 0) return std::nullopt;
  if (got != LEN_BYTES) throw HandoffError(fmt::format("status_len: pipe closed after {} of 4 bytes", got), false);
  const uint32_t status_len = get_u32le(len);
  if (status_len == 0 || status_len > MAX_STATUS_BYTES)
    throw HandoffError(fmt::format("status_len {} is outside 1..{}", status_len, MAX_STATUS_BYTES), false);
  std::string json(status_len, '\0');
  read_exact(fd, reinterpret_cast<uint8_t*>(json.data()), status_len, deadline, "status");
  // No wait for EOF here: inner workers the runner forked during prestart may still hold copies
  // of its status fd, so EOF can come long after the one message.
  try {
    return parse_runner_status(json);
  } catch (const SchemaError& e) {
    throw HandoffError(fmt::format("malformed status message: {}", e.what()), false);
  }
}

}  // namespace echelon::remote
