// An echelon-remote-worker daemon started by this process (the main job's loopback default, the
// benchmarks and the end-to-end tests): forked and exec'd with a parent-death signal (it never
// outlives the thread that started it, even if that process crashes), its port read from the
// "listening" line it prints once its socket is bound (never a blind sleep), stopped with SIGTERM
// (it then stops its runners) and reaped on destruction. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace echelon::remote {

struct LocalDaemonOptions {
  std::string binary;                     // absolute path of echelon-remote-worker
  std::string listen = "127.0.0.1:0";     // port 0: the kernel picks one, read back from the daemon
  std::vector<std::string> plugin_dirs;
  std::string session_binary;             // empty: the daemon's default (next to itself)
  std::string auth_secret_file;           // empty: --insecure-no-auth
  std::string log_level = "warn";
  std::string log_file;                   // daemon stderr; empty: inherit ours
  std::chrono::milliseconds start_timeout{10000};
};

class LocalDaemon {
 public:
  // Throws std::runtime_error naming the binary and what went wrong (spawn failed, the daemon
  // exited or printed nothing within start_timeout); nothing is left running then.
  explicit LocalDaemon(LocalDaemonOptions options);
  ~LocalDaemon();
  LocalDaemon(const LocalDaemon&) = delete;
  LocalDaemon& operator=(const LocalDaemon&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  // SIGTERM, a bounded wait, then SIGKILL; reaps. True when it exited cleanly on SIGTERM in time.
  // Idempotent.
  bool stop(std::chrono::milliseconds grace = std::chrono::milliseconds{8000});

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool reaped_ = false;
  int exit_status_ = 0;
};

// A fresh random shared secret (48 bytes from the OpenSSL CSPRNG) in a mode-0600 file inside a
// private directory of its own; both are removed on destruction.
class EphemeralSecretFile {
 public:
  EphemeralSecretFile();
  ~EphemeralSecretFile();
  EphemeralSecretFile(const EphemeralSecretFile&) = delete;
  EphemeralSecretFile& operator=(const EphemeralSecretFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

}  // namespace echelon::remote
