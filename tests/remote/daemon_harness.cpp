#include "daemon_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "remote_test_support.h"
#include "transport/auth.h"
#include "transport/bootstrap_auth.h"
#include "transport/bootstrap_message.h"
#include "transport/fd.h"
#include "transport/tcp_socket.h"
#include "transport/transport_error.h"

extern char** environ;

namespace echelon::remote::test {
namespace {

const std::string kDaemon = ECHELON_REMOTE_WORKER_PATH;
const std::string kRunner = ECHELON_FAKE_RUNNER_PATH;
const std::string kListeningPrefix = "echelon-remote-worker listening ";

// Reads the daemon's stdout up to its first line (or EOF, or the deadline).
std::string read_first_line(int fd, transport::Deadline deadline) {
  std::string line;
  char c = 0;
  while (transport::poll_fd(fd, POLLIN, deadline) != 0) {
    if (::read(fd, &c, 1) != 1 || c == '\n') break;
    line.push_back(c);
  }
  return line;
}

std::vector<std::string> children_of(pid_t pid) {
  std::vector<std::string> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "children");
    std::string child;
    while (in >> child) out.push_back(child);
  }
  return out;
}

std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return done();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

SecretFile::SecretFile() : path(temp_path("secret")) {
  const transport::Nonce a = transport::random_nonce(), b = transport::random_nonce();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, a.data(), a.size()) != ssize_t(a.size()) || ::write(fd, b.data(), 16) != 16)
    throw std::runtime_error("cannot write the test secret file " + path);
  ::close(fd);
}

SecretFile::~SecretFile() { ::unlink(path.c_str()); }

transport::Secret SecretFile::load() const { return transport::load_secret_file(path); }

DaemonProcess::DaemonProcess(std::vector<std::string> flags, std::string runner_mode)
    : report_dir_(temp_path("runners")) {
  std::filesystem::create_directory(report_dir_);
  std::vector<std::string> args = {kDaemon, "--session-binary=" + kRunner};
  bool has_log_level = false;
  for (const auto& f : flags) has_log_level |= f.starts_with("--log-level");
  if (!has_log_level) args.push_back("--log-level=warn");  // keep test output quiet
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<std::string> env = {"ECHELON_FAKE_RUNNER_MODE=" + runner_mode,
                                  "ECHELON_FAKE_RUNNER_REPORT_DIR=" + report_dir_};
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("ECHELON_FAKE_RUNNER_")) env.emplace_back(*e);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  transport::Fd read_end(out[0]), write_end(out[1]);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(write_end.get(), STDOUT_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  write_end.reset();
  const std::string line = read_first_line(read_end.get(), transport::deadline_in(5s));
  if (line.starts_with(kListeningPrefix)) {
    const std::string addr = line.substr(kListeningPrefix.size());
    port_ = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  }
}

DaemonProcess::~DaemonProcess() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  // Runners live in their own groups: a daemon killed above cannot take them along.
  for (const auto& r : runner_reports()) ::kill(-r.at("pgid").get<pid_t>(), SIGKILL);
  std::error_code ec;
  std::filesystem::remove_all(report_dir_, ec);
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (reaped_) return std::nullopt;
  int status = 0;
  if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout)) return std::nullopt;
  reaped_ = true;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void DaemonProcess::signal(int sig) const { ::kill(pid_, sig); }

size_t DaemonProcess::open_fd_count() const {
  size_t n = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fd", ec))
    ++n;
  return n;
}

bool DaemonProcess::has_children() const { return !children_of(pid_).empty(); }

std::vector<nlohmann::json> DaemonProcess::runner_reports() const {
  std::vector<nlohmann::json> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(report_dir_, ec)) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    out.push_back(nlohmann::json::parse(in));
  }
  return out;
}

transport::TcpSocket connect_local(uint16_t port) {
  return transport::TcpSocket::connect({transport::AddressFamily::IPV4, "127.0.0.1", port},
                                       transport::deadline_in(2s));
}

std::string bootstrap(uint16_t port, const transport::Secret* secret, const std::string& manifest) {
  transport::TcpSocket socket = connect_local(port);
  std::vector<uint8_t> reply;
  if (secret) {
    transport::BootstrapNonces nonces;
    reply = transport::client_bootstrap_exchange(socket, *secret, bytes_of(manifest), transport::deadline_in(2s),
                                                 transport::deadline_in(5s), nonces);
  } else {
    transport::write_bootstrap_message(socket, bytes_of(manifest), transport::deadline_in(2s));
    reply = transport::read_bootstrap_message(socket, transport::deadline_in(5s));
  }
  return std::string(reply.begin(), reply.end());
}

std::vector<uint8_t> send_raw(uint16_t port, const std::vector<uint8_t>& bytes) {
  transport::TcpSocket socket = connect_local(port);
  std::vector<uint8_t> answer;
  try {
    socket.write_all(bytes, transport::deadline_in(2s));
    ::shutdown(socket.fd(), SHUT_WR);
    const auto deadline = transport::deadline_in(3s);
    uint8_t buf[4096];
    while (socket.wait_readable(deadline)) {
      const size_t n = socket.read_some(buf);
      answer.insert(answer.end(), buf, buf + n);
    }
  } catch (const transport::TransportError&) {
    // The daemon closed (or reset) the connection: that is the end of its answer.
  }
  return answer;
}

}  // namespace echelon::remote::test
