// The `echelon-remote-worker` command line (runtime.md 9.1, RT-908; policy RT-1005, protocol.md
// 15.3). Everything is validated here, before the daemon binds a socket or starts a thread.
//
// Exit codes of the daemon (documented in docs/remote-bootstrap.md):
//   0  clean exit (SIGTERM/SIGINT after serving) and --help
//   1  failure after the command line was accepted (bind, listener, signal setup)
//   2  usage: unknown or repeated flag, invalid value, or an auth-policy refusal
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "echelon/errors.h"
#include "transport/endpoint_address.h"
#include "transport/secret.h"

namespace echelon::remote {

inline constexpr int DAEMON_EXIT_OK = 0;
inline constexpr int DAEMON_EXIT_FAILURE = 1;
inline constexpr int DAEMON_EXIT_USAGE = 2;

inline constexpr uint16_t DEFAULT_DAEMON_PORT = 19073;
inline constexpr unsigned MAX_DAEMON_SESSIONS = 1024;
inline constexpr double MAX_PROOF_TIMEOUT_S = 60.0;
inline constexpr const char* SESSION_BINARY_NAME = "echelon-l3-session";

enum class LogLevel { ERROR, WARN, INFO, DEBUG };
const char* to_string(LogLevel level);

struct DaemonOptions {
  transport::EndpointAddress listen{transport::AddressFamily::IPV4, "127.0.0.1", DEFAULT_DAEMON_PORT};
  unsigned max_sessions = 64;
  LogLevel log_level = LogLevel::INFO;
  std::string auth_secret_file;        // empty: none
  std::optional<transport::Secret> auth_secret;  // loaded and checked when the file is given
  bool insecure_no_auth = false;
  std::vector<std::string> plugin_dirs;   // absolute existing directories, order kept
  std::string session_binary;             // absolute
  double proof_timeout_s = 5.0;
};

// The command line ended the program before it started: --help (exit 0, text for stdout) or a
// refusal (exit 2, message for stderr).
class DaemonCliExit : public Error {
 public:
  DaemonCliExit(int exit_code, const std::string& text) : Error(text), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }
  bool is_help() const { return exit_code_ == DAEMON_EXIT_OK; }

 private:
  int exit_code_;
};

// Parses argv (argv[0] is the program name). Throws DaemonCliExit; never prints or exits itself.
DaemonOptions parse_daemon_options(int argc, const char* const* argv);

// The usage text --help prints: every flag with its default.
std::string daemon_usage();

}  // namespace echelon::remote
