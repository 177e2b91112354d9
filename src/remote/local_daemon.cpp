#include "remote/local_daemon.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "fmt/format.h"

extern char** environ;

namespace echelon::remote {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kListeningPrefix = "echelon-remote-worker listening ";

// One line from `fd` by `deadline`; empty when the daemon closed its stdout or said nothing.
std::string read_line(int fd, Clock::time_point deadline) {
  std::string line;
  while (Clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count())));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    if (c == '\n') return line;
    line.push_back(c);
  }
  return {};
}

}  // namespace

LocalDaemon::LocalDaemon(LocalDaemonOptions options) {
  std::vector<std::string> args = {options.binary, "--listen", options.listen, "--log-level", options.log_level};
  for (const auto& dir : options.plugin_dirs) {
    args.push_back("--plugin-dir");
    args.push_back(dir);
  }
  if (!options.session_binary.empty()) {
    args.push_back("--session-binary");
    args.push_back(options.session_binary);
  }
  if (options.auth_secret_file.empty()) {
    args.push_back("--insecure-no-auth");
  } else {
    args.push_back("--auth-secret-file");
    args.push_back(options.auth_secret_file);
  }
  // Argument and environment arrays are built before fork: the child only calls async-signal-safe
  // functions, so this is safe even when the caller already runs threads.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe2 for the daemon failed: {}", std::strerror(errno)));
  int log_fd = -1;
  if (!options.log_file.empty()) {
    log_fd = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) {
      ::close(out[0]);
      ::close(out[1]);
      throw std::runtime_error(fmt::format("opening the daemon log {} failed: {}", options.log_file, std::strerror(errno)));
    }
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // A daemon started for this process must not outlive it, even when it crashes: the kernel
    // sends SIGTERM when the creating thread dies, and the daemon stops its runners on SIGTERM.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(out[1], STDOUT_FILENO);
    if (log_fd >= 0) ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out[1]);
  if (log_fd >= 0) ::close(log_fd);
  if (pid_ < 0) {
    ::close(out[0]);
    pid_ = -1;
    throw std::runtime_error(fmt::format("starting the daemon {} failed: fork: {}", options.binary, std::strerror(fork_errno)));
  }
  const std::string line = read_line(out[0], Clock::now() + options.start_timeout);
  ::close(out[0]);
  const auto colon = line.rfind(':');
  if (line.rfind(kListeningPrefix, 0) != 0 || colon == std::string::npos) {
    stop(std::chrono::milliseconds{2000});
    throw std::runtime_error(fmt::format("the daemon {} did not report a listening address within {} ms (exit status {})",
                                         options.binary, options.start_timeout.count(), exit_status_));
  }
  port_ = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

LocalDaemon::~LocalDaemon() { stop(); }

bool LocalDaemon::stop(std::chrono::milliseconds grace) {
  if (reaped_ || pid_ <= 0) return true;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + grace;
  int status = 0;
  bool clean = false;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      clean = true;
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) break;
    // No event to wait on for another process's exit without a pidfd per platform; a short nap
    // on the shutdown path only.
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  if (!clean) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  exit_status_ = status;
  reaped_ = true;
  return clean && WIFEXITED(status);
}

EphemeralSecretFile::EphemeralSecretFile() {
  char tmpl[] = "/tmp/echelon-secret-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error(fmt::format("mkdtemp for the secret failed: {}", std::strerror(errno)));
  dir_ = tmpl;
  path_ = (dir_ / "secret").string();
  std::array<unsigned char, 48> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("the CSPRNG refused to produce a secret");
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  const bool written = fd >= 0 && ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  if (fd >= 0) ::close(fd);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!written) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error(fmt::format("writing the secret file {} failed", path_));
  }
}

EphemeralSecretFile::~EphemeralSecretFile() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace echelon::remote
