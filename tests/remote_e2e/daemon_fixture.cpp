#include "daemon_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

extern char** environ;

namespace echelon::remote_e2e {
namespace {

const std::string kListeningPrefix = "echelon-remote-worker listening ";

// The ucx instance of the suite (ECHELON_TEST_TRANSPORT=ucx) keeps UCX on loopback over tcp unless
// the caller chose otherwise; the ucx-shm instance uses shared memory only. Set before main, so the
// parent's UCX context and every daemon (hence every runner) see it; nothing has started a thread.
const bool kUcxEnvironment = [] {
  const char* profile = std::getenv("ECHELON_TEST_TRANSPORT");
  if (profile != nullptr && std::string(profile) == "ucx") {
    ::setenv("UCX_TLS", "tcp,self", 0);
    ::setenv("UCX_NET_DEVICES", "lo", 0);
  }
  if (profile != nullptr && std::string(profile) == "ucx-shm") ::setenv("UCX_TLS", "posix,self", 1);
  return true;
}();

// Reads one line from `fd` within `timeout`; empty when the daemon said nothing in time.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  char c = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
    const ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return {};
    if (c == '\n') return line;
    line.push_back(c);
  }
  return {};
}

}  // namespace

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}


SecretFile::SecretFile() {
  char name[] = "/tmp/echelon-e2e-secret-XXXXXX";
  const int fd = ::mkstemp(name);  // mode 0600, owned by us: what load_secret_file requires
  if (fd < 0) throw std::runtime_error("mkstemp for the secret failed");
  path = name;
  std::ifstream random("/dev/urandom", std::ios::binary);
  char bytes[48];
  random.read(bytes, sizeof bytes);
  const bool written = random && ::write(fd, bytes, sizeof bytes) == static_cast<ssize_t>(sizeof bytes);
  ::close(fd);
  if (!written) throw std::runtime_error("writing the secret failed");
}

SecretFile::~SecretFile() { ::unlink(path.c_str()); }

Daemon::Daemon(const std::string& auth_secret_file, const std::vector<std::string>& extra_env,
               const std::string& plugin_dir, const DaemonPlace& place) {
  char log_name[] = "/tmp/echelon-e2e-daemon-log-XXXXXX";
  const int log_fd = ::mkstemp(log_name);
  if (log_fd < 0) throw std::runtime_error("mkstemp for the daemon log failed");
  log_path_ = log_name;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(log_fd);
    ::unlink(log_path_.c_str());
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  host_ = place.listen_host;
  std::vector<std::string> args;
  if (!place.netns.empty()) args = {"/usr/sbin/ip", "netns", "exec", place.netns};  // execs the daemon: same pid
  for (const std::string& a : {std::string(ECHELON_REMOTE_WORKER_PATH), std::string("--listen"), host_ + ":0",
                               std::string("--plugin-dir"), plugin_dir, std::string("--session-binary"),
                               std::string(ECHELON_SESSION_BINARY), std::string("--log-level"), std::string("info")})
    args.push_back(a);
  if (auth_secret_file.empty()) {
    args.push_back("--insecure-no-auth");
  } else {
    args.push_back("--auth-secret-file");
    args.push_back(auth_secret_file);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The runners inherit the daemon's environment, which is how a test arms a runner fault.
  std::vector<std::string> extra = extra_env;
  const auto overridden = [&](const char* e) {
    const std::string_view var(e);
    return std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      const size_t eq = x.find('=');
      return var.substr(0, var.find('=')) == std::string_view(x).substr(0, eq);
    });
  };
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e)
    if (!overridden(*e)) envp.push_back(*e);
  for (auto& e : extra) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(log_fd);
  if (rc != 0) {
    ::close(out[0]);
    ::unlink(log_path_.c_str());  // no destructor runs for a constructor that throws
    throw std::runtime_error("posix_spawn of the daemon failed");
  }
  const std::string line = read_line(out[0], 10s);
  ::close(out[0]);
  const auto colon = line.rfind(':');
  if (line.rfind(kListeningPrefix, 0) != 0 || colon == std::string::npos) {
    stop();
    const std::string said = log();
    ::unlink(log_path_.c_str());
    throw std::runtime_error("the daemon did not print its listening line (got '" + line + "'); it logged: " + said);
  }
  port_ = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

Daemon::~Daemon() {
  stop();
  ::unlink(log_path_.c_str());
}

std::string Daemon::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

pid_t Daemon::wait_for_single_runner(std::chrono::milliseconds timeout) const {
  std::vector<pid_t> found;
  wait_until([&] { return (found = runners()).size() == 1; }, timeout);
  return found.size() == 1 ? found.front() : -1;
}

bool Daemon::stop() {
  if (reaped_ || pid_ <= 0) return true;
  ::kill(pid_, SIGTERM);
  int status = 0;
  bool clean = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, 8000ms);
  if (!clean) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  reaped_ = true;
  return clean;
}

}  // namespace echelon::remote_e2e
