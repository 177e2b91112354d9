#include "ucx_test_support.h"

#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace echelon::transport::ucx_test {
namespace {

void write_all(int fd, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error(std::string("link write: ") + std::strerror(errno));
    b += w;
    n -= static_cast<size_t>(w);
  }
}

void read_exact(int fd, void* p, size_t n, std::chrono::steady_clock::time_point deadline) {
  auto* b = static_cast<uint8_t*>(p);
  while (n > 0) {
    if (poll_fd(fd, POLLIN, deadline) == 0) throw std::runtime_error("link read: timed out");
    const ssize_t r = ::read(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw std::runtime_error("link read: peer closed");
    if (r < 0) throw std::runtime_error(std::string("link read: ") + std::strerror(errno));
    b += r;
    n -= static_cast<size_t>(r);
  }
}

}  // namespace

void Link::send(const std::vector<uint8_t>& blob) const {
  const uint64_t n = blob.size();
  write_all(fd_.get(), &n, sizeof(n));
  write_all(fd_.get(), blob.data(), blob.size());
}

std::vector<uint8_t> Link::receive(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t n = 0;
  read_exact(fd_.get(), &n, sizeof(n), deadline);
  if (n > (64u << 20)) throw std::runtime_error("link read: oversize blob");
  std::vector<uint8_t> blob(n);
  read_exact(fd_.get(), blob.data(), n, deadline);
  return blob;
}

void Link::send_u64(uint64_t v) const { write_all(fd_.get(), &v, sizeof(v)); }

uint64_t Link::receive_u64(std::chrono::milliseconds timeout) const {
  uint64_t v = 0;
  read_exact(fd_.get(), &v, sizeof(v), std::chrono::steady_clock::now() + timeout);
  return v;
}

std::pair<Link, Link> make_links() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw std::runtime_error("socketpair");
  return {Link(Fd(sv[0])), Link(Fd(sv[1]))};
}

Side::Side(std::string tls, std::function<void()> body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    ::close(p[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test run leaves no UCX process behind
    std::string error;
    try {
      ::setenv("UCX_TLS", tls.c_str(), 1);
      if (tls.find("tcp") != std::string::npos) ::setenv("UCX_NET_DEVICES", "lo", 1);
      body();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "exception without text";
    } catch (...) {
      error = "unknown exception";
    }
    try {
      write_all(p[1], error.data(), error.size());
    } catch (...) {
    }
    ::_exit(error.empty() ? 0 : 1);
  }
  ::close(p[1]);
  result_.reset(p[0]);
}

std::string Side::result(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string text;
  for (;;) {
    if (poll_fd(result_.get(), POLLIN, deadline) == 0) {
      ::kill(pid_, SIGKILL);
      text += "(side timed out)";
      break;
    }
    char buf[512];
    const ssize_t r = ::read(result_.get(), buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    text.append(buf, static_cast<size_t>(r));
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
  if (text.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    text = WIFSIGNALED(status) ? "side killed by signal " + std::to_string(WTERMSIG(status))
                               : "side exited with " + std::to_string(WEXITSTATUS(status));
  }
  return text;
}

Side::~Side() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool ucx_built() {
#ifdef ECHELON_HAVE_UCX
  return true;
#else
  return false;
#endif
}

ucx::Module& module() { return load_ucx_module(); }

double process_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void progress_until(ucx::Worker& worker, const std::function<bool()>& done, std::chrono::milliseconds timeout,
                    const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (worker.progress()) continue;
    if (done()) return;
    if (std::chrono::steady_clock::now() >= deadline) throw std::runtime_error(std::string(what) + ": timed out");
    worker.wait(deadline);
  }
}

}  // namespace echelon::transport::ucx_test
