// A real echelon-remote-worker for the end-to-end tests: started insecure on 127.0.0.1:0 (or a
// DaemonPlace) with the
// session test plugin directory, its port read from the "listening" line (never a blind sleep).
// The destructor terminates it (the daemon stops its runners) and reaps it; every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proc_probe.h"

namespace echelon::remote_e2e {

using namespace std::chrono_literals;

// Polls `done` every few milliseconds until it holds or `timeout` passes; the last result. For
// conditions with no event to wait on (a process leaving /proc).
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5000ms);

using echelon::testing::live_children;
using echelon::testing::process_alive;

// A fresh 48-byte random secret in a mode-0600 file, removed on destruction.
struct SecretFile {
  SecretFile();
  ~SecretFile();
  std::string path;
};

// Where a daemon runs: by default on this process's loopback; for the two-host tests, in another
// network namespace (started through `ip netns exec`) listening on that namespace's address.
struct DaemonPlace {
  std::string netns;                     // empty: this process's network namespace
  std::string listen_host = "127.0.0.1";
};

class Daemon {
 public:
  // Insecure (--insecure-no-auth) without a secret file, authenticated with one. `extra_env`
  // ("NAME=value") is added to the daemon's environment, which its runners inherit, replacing an
  // inherited variable of the same name. `plugin_dir` replaces the session test plugin directory.
  explicit Daemon(const std::string& auth_secret_file = {}, const std::vector<std::string>& extra_env = {},
                  const std::string& plugin_dir = ECHELON_SESSION_PLUGIN_DIR, const DaemonPlace& place = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  // The address it listens on (what a RemoteWorkerSpec's host is).
  const std::string& host() const { return host_; }
  // The runners (session processes) the daemon currently has.
  std::vector<int> runners() const { return live_children(pid_); }
  // Waits (bounded) for exactly one runner and returns it, or -1.
  pid_t wait_for_single_runner(std::chrono::milliseconds timeout = 5000ms) const;
  // Everything the daemon logged so far (stderr, log level info).
  std::string log() const;
  // SIGTERM, bounded wait, then SIGKILL; reaps. True when it exited on SIGTERM in time.
  bool stop();

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string host_;
  bool reaped_ = false;
  std::string log_path_;
};

}  // namespace echelon::remote_e2e
