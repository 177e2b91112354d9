#include "remote/daemon_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>

#include "CLI/CLI.hpp"
#include "fmt/format.h"
#include "transport/auth.h"
#include "transport/transport_error.h"

namespace echelon::remote {
namespace {

[[noreturn]] void usage_error(const std::string& message) { throw DaemonCliExit(DAEMON_EXIT_USAGE, message); }

std::string default_session_binary() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::string("/") + SESSION_BINARY_NAME;
  return (exe.parent_path() / SESSION_BINARY_NAME).string();
}

// CLI11 would accept "0x10", "1e3" or " 5" for numbers; the spec wants plain decimal values.
unsigned parse_max_sessions(const std::string& text) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 1 || v > MAX_DAEMON_SESSIONS)
    usage_error(fmt::format("--max-sessions: must be an integer in 1..{}, got '{}'", MAX_DAEMON_SESSIONS, text));
  return v;
}

double parse_proof_timeout(const std::string& text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || !(v > 0) ||
      v > MAX_PROOF_TIMEOUT_S)
    usage_error(fmt::format("--proof-timeout-s: must be a number of seconds in (0, {}], got '{}'", MAX_PROOF_TIMEOUT_S, text));
  return v;
}

LogLevel parse_log_level(const std::string& text) {
  for (LogLevel l : {LogLevel::ERROR, LogLevel::WARN, LogLevel::INFO, LogLevel::DEBUG})
    if (text == to_string(l)) return l;
  usage_error(fmt::format("--log-level: must be one of error, warn, info, debug, got '{}'", text));
}

transport::EndpointAddress parse_listen(const std::string& text) {
  transport::EndpointAddress a;
  try {
    a = transport::parse_endpoint_address(text);
  } catch (const transport::TransportError& e) {
    usage_error(fmt::format("--listen: {}", e.what()));
  }
  if (a.family != transport::AddressFamily::IPV4)
    usage_error(fmt::format("--listen: '{}' must be a numeric IPv4 address or 'localhost' with a port", text));
  return a;
}

std::string check_plugin_dir(const std::string& dir) {
  struct stat st {};
  if (dir.empty() || dir[0] != '/') usage_error(fmt::format("--plugin-dir: '{}' must be an absolute path", dir));
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    usage_error(fmt::format("--plugin-dir: '{}' is not an existing directory", dir));
  return dir;
}

std::string check_session_binary(const std::string& path) {
  struct stat st {};
  if (path.empty() || path[0] != '/') usage_error(fmt::format("--session-binary: '{}' must be an absolute path", path));
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0)
    usage_error(fmt::format("--session-binary: '{}' is not an executable file", path));
  return path;
}

struct RawFlags {
  std::string listen, max_sessions, log_level, auth_secret_file, session_binary, proof_timeout_s;
  std::vector<std::string> plugin_dirs;
  bool insecure_no_auth = false;
};

void define_flags(CLI::App& app, RawFlags& raw) {
  app.set_help_flag("--help", "Print this usage and exit");
  app.allow_extras(false);
  auto single = [&](const char* name, std::string& into, const std::string& help) {
    app.add_option(name, into, help)->multi_option_policy(CLI::MultiOptionPolicy::Throw)->expected(1);
  };
  single("--listen", raw.listen, "IP:PORT, numeric IPv4 or 'localhost'; port 0 = ephemeral [127.0.0.1:19073]");
  single("--max-sessions", raw.max_sessions, "concurrent live sessions, 1..1024 [64]");
  single("--log-level", raw.log_level, "error, warn, info or debug [info]");
  single("--auth-secret-file", raw.auth_secret_file,
         "shared-secret file: regular, owned by you, mode 600, 32..4096 bytes [none]");
  app.add_flag("--insecure-no-auth", raw.insecure_no_auth, "turn authentication off (loopback listen only)")
      ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
  app.add_option("--plugin-dir", raw.plugin_dirs, "absolute existing plugin directory; repeatable, searched in order");
  single("--session-binary", raw.session_binary,
         fmt::format("absolute path of the runner [{} next to this executable]", SESSION_BINARY_NAME));
  single("--proof-timeout-s", raw.proof_timeout_s, "seconds in (0, 60] for a bootstrap request or a lane proof [5]");
}

}  // namespace

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::ERROR: return "error";
    case LogLevel::WARN: return "warn";
    case LogLevel::INFO: return "info";
    case LogLevel::DEBUG: return "debug";
  }
  return "info";
}

std::string daemon_usage() {
  CLI::App app("echelon-remote-worker: starts one echelon-l3-session runner per authenticated session",
               "echelon-remote-worker");
  RawFlags raw;
  define_flags(app, raw);
  return app.help();
}

DaemonOptions parse_daemon_options(int argc, const char* const* argv) {
  CLI::App app("echelon-remote-worker: starts one echelon-l3-session runner per authenticated session",
               "echelon-remote-worker");
  RawFlags raw;
  define_flags(app, raw);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    throw DaemonCliExit(DAEMON_EXIT_OK, app.help());
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }

  DaemonOptions o;
  if (app.count("--listen")) o.listen = parse_listen(raw.listen);
  if (app.count("--max-sessions")) o.max_sessions = parse_max_sessions(raw.max_sessions);
  if (app.count("--log-level")) o.log_level = parse_log_level(raw.log_level);
  if (app.count("--proof-timeout-s")) o.proof_timeout_s = parse_proof_timeout(raw.proof_timeout_s);
  for (const std::string& dir : raw.plugin_dirs) o.plugin_dirs.push_back(check_plugin_dir(dir));
  o.session_binary = app.count("--session-binary") ? check_session_binary(raw.session_binary) : default_session_binary();
  o.insecure_no_auth = raw.insecure_no_auth;

  // Auth policy (RT-1005): exactly one of secret / insecure flag, and a non-loopback listen
  // always needs the secret.
  const bool has_secret_flag = app.count("--auth-secret-file") > 0;
  if (has_secret_flag && o.insecure_no_auth)
    usage_error("--auth-secret-file and --insecure-no-auth exclude each other; give exactly one");
  try {
    transport::check_daemon_auth_policy(o.listen, has_secret_flag, o.insecure_no_auth);
    if (has_secret_flag) {
      o.auth_secret_file = raw.auth_secret_file;
      o.auth_secret = transport::load_secret_file(raw.auth_secret_file);
    }
  } catch (const transport::AuthError& e) {
    usage_error(has_secret_flag ? fmt::format("--auth-secret-file: {}", e.what()) : e.what());
  }
  return o;
}

}  // namespace echelon::remote
