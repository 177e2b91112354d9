// Drives the real echelon-remote-worker binary for the daemon process tests: starts it with the
// fake runner as its session binary, waits for its "listening" line (never a blind sleep), plays
// the parent's side of the bootstrap, and counts what the daemon left behind (runners, fds).
// Every wait is bounded; the destructor kills and reaps the daemon and every runner it started.
#pragma once

#include "proc_probe.h"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "transport/secret.h"
#include "transport/tcp_socket.h"

namespace echelon::remote::test {

using namespace std::chrono_literals;

// Polls `done` every few milliseconds until it holds or `timeout` passes; the result of the last
// check. For conditions with no event to wait on (a process disappearing from /proc).
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3000ms);

// A fresh 48-byte random secret in a mode-0600 file.
struct SecretFile {
  SecretFile();
  ~SecretFile();
  transport::Secret load() const;
  std::string path;
};

class DaemonProcess {
 public:
  // `runner_mode` is the fake runner's ECHELON_FAKE_RUNNER_MODE for every session.
  DaemonProcess(std::vector<std::string> flags, std::string runner_mode = "hang");
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The port from the listening line; nullopt if the daemon exited (or stayed silent) instead.
  std::optional<uint16_t> port() const { return port_; }
  // Exit status (WEXITSTATUS, or 128 + signal) once the daemon exited within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 3000ms);
  void signal(int sig) const;

  // Descriptors the daemon has open, and whether it still has children (unreaped included).
  size_t open_fd_count() const;
  bool has_children() const;

  // The fake runners started so far: one report per runner (pid, pgid, session_key_hex, ...).
  std::vector<nlohmann::json> runner_reports() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::optional<uint16_t> port_;
  std::string report_dir_;
};

using echelon::testing::process_alive;

// A connection to the daemon on 127.0.0.1:port (2 s connect bound).
transport::TcpSocket connect_local(uint16_t port);

// Parent side of the bootstrap against 127.0.0.1:port. With a secret: the authenticated
// exchange (AuthError when refused); without: the plain exchange. Returns the reply JSON.
std::string bootstrap(uint16_t port, const transport::Secret* secret, const std::string& manifest);
// Connects, sends `bytes` as they are (no framing), shuts the write side down and returns what
// the daemon answered before closing (possibly nothing).
std::vector<uint8_t> send_raw(uint16_t port, const std::vector<uint8_t>& bytes);

}  // namespace echelon::remote::test
