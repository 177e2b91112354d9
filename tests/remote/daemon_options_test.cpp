#include "remote/daemon_options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "remote_test_support.h"

namespace echelon::remote {
namespace {

// A secret file with the given size and mode, removed with the fixture.
struct SecretFile {
  std::string path = test::temp_path("secret");
  SecretFile(size_t bytes, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const std::string content(bytes, 's');
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    fchmod(fd, mode);
    ::close(fd);
  }
  ~SecretFile() { ::unlink(path.c_str()); }
};

DaemonOptions parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"echelon-remote-worker"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_daemon_options(static_cast<int>(argv.size()), argv.data());
}

TEST(DaemonOptions, Defaults) {
  const DaemonOptions o = parse({"--insecure-no-auth"});
  EXPECT_EQ(o.listen.to_string(), "127.0.0.1:19073");
  EXPECT_EQ(o.max_sessions, 64u);
  EXPECT_EQ(o.log_level, LogLevel::INFO);
  EXPECT_TRUE(o.insecure_no_auth);
  EXPECT_FALSE(o.auth_secret.has_value());
  EXPECT_TRUE(o.plugin_dirs.empty());
  EXPECT_EQ(o.proof_timeout_s, 5.0);
  char self[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof self - 1), 0);
  const std::string exe(self);
  EXPECT_EQ(o.session_binary, exe.substr(0, exe.rfind('/')) + "/echelon-l3-session");
}

TEST(DaemonOptions, EachFlagAccepted) {
  const std::string dir_a = ::testing::TempDir();
  const DaemonOptions o = parse({"--insecure-no-auth", "--listen=localhost:0", "--max-sessions", "1024",
                                 "--log-level=debug", "--plugin-dir=/tmp", "--plugin-dir", "/", "--session-binary=/bin/sh",
                                 "--proof-timeout-s=0.25"});
  EXPECT_EQ(o.listen.host, "127.0.0.1");
  EXPECT_EQ(o.listen.port, 0);
  EXPECT_EQ(o.max_sessions, 1024u);
  EXPECT_EQ(o.log_level, LogLevel::DEBUG);
  EXPECT_EQ(o.plugin_dirs, (std::vector<std::string>{"/tmp", "/"}));
  EXPECT_EQ(o.session_binary, "/bin/sh");
  EXPECT_EQ(o.proof_timeout_s, 0.25);
  EXPECT_EQ(parse({"--insecure-no-auth", "--listen=127.9.8.7:65535"}).listen.port, 65535);
  EXPECT_EQ(parse({"--insecure-no-auth", "--proof-timeout-s=60"}).proof_timeout_s, 60.0);
}

TEST(DaemonOptions, SecretAllowsNonLoopback) {
  SecretFile secret(32, 0600);
  const DaemonOptions o = parse({"--auth-secret-file", secret.path, "--listen=0.0.0.0:7000"});
  ASSERT_TRUE(o.auth_secret.has_value());
  EXPECT_EQ(o.auth_secret->bytes().size(), 32u);
  EXPECT_EQ(o.auth_secret_file, secret.path);
  EXPECT_FALSE(o.insecure_no_auth);
}

TEST(DaemonOptions, HelpPrintsEveryFlagAndExitsZero) {
  try {
    parse({"--help"});
    FAIL();
  } catch (const DaemonCliExit& e) {
    EXPECT_EQ(e.exit_code(), DAEMON_EXIT_OK);
    EXPECT_TRUE(e.is_help());
    for (const char* flag : {"--listen", "--max-sessions", "--log-level", "--auth-secret-file", "--insecure-no-auth",
                             "--plugin-dir", "--session-binary", "--proof-timeout-s", "--help"})
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << flag;
  }
}

TEST(DaemonOptions, RefusalsExitTwoWithMessage) {
  SecretFile loose(32, 0644), short_secret(31, 0600), good(32, 0600);
  struct Row {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::string ok = "--insecure-no-auth";
  const std::vector<Row> rows = {
      {{}, "refusing to start without an auth secret"},
      {{ok, "--auth-secret-file", good.path}, "exclude each other"},
      {{ok, "--listen=10.0.0.1:5000"}, "non-loopback address 10.0.0.1:5000"},
      {{ok, "--listen=0.0.0.0:5000"}, "non-loopback"},
      {{ok, "--listen=example.com:5000"}, "not a numeric IPv4 address"},
      {{ok, "--listen=127.0.0.1"}, "port is missing"},
      {{ok, "--listen=127.0.0.1:65536"}, "0..65535"},
      {{ok, "--listen=[::1]:5000"}, "numeric IPv4"},
      {{ok, "--max-sessions=0"}, "--max-sessions: must be an integer in 1..1024, got '0'"},
      {{ok, "--max-sessions=1025"}, "1..1024"},
      {{ok, "--max-sessions=0x10"}, "1..1024"},
      {{ok, "--max-sessions=+5"}, "1..1024"},
      {{ok, "--log-level=trace"}, "--log-level: must be one of error, warn, info, debug"},
      {{ok, "--log-level=INFO"}, "--log-level"},
      {{ok, "--proof-timeout-s=0"}, "--proof-timeout-s: must be a number of seconds in (0, 60]"},
      {{ok, "--proof-timeout-s=60.5"}, "(0, 60]"},
      {{ok, "--proof-timeout-s=nan"}, "(0, 60]"},
      {{ok, "--proof-timeout-s=inf"}, "(0, 60]"},
      {{ok, "--proof-timeout-s=-1"}, "(0, 60]"},
      {{ok, "--plugin-dir=relative/dir"}, "must be an absolute path"},
      {{ok, "--plugin-dir=/nonexistent/echelon/plugins"}, "not an existing directory"},
      {{ok, "--plugin-dir=/bin/sh"}, "not an existing directory"},
      {{ok, "--session-binary=echelon-l3-session"}, "must be an absolute path"},
      {{ok, "--session-binary=" + good.path}, "not an executable file"},
      {{ok, "--listen=127.0.0.1:1", "--listen=127.0.0.1:2"}, "--listen"},
      {{ok, "--max-sessions=1", "--max-sessions", "2"}, "--max-sessions"},
      {{ok, ok}, "--insecure-no-auth"},
      {{ok, "--foo=1"}, "--foo"},
      {{ok, "-h"}, "-h"},
      {{ok, "stray"}, "stray"},
      {{ok, "--listen"}, "--listen"},
      {{"--auth-secret-file", loose.path}, "gives access to group or others"},
      {{"--auth-secret-file", short_secret.path}, "31 bytes; a secret must be 32 to 4096 bytes"},
      {{"--auth-secret-file", "/nonexistent/secret"}, "cannot open"},
      {{"--auth-secret-file", "/tmp"}, "not a regular file"},
  };
  for (const Row& row : rows) {
    std::string joined;
    for (const auto& a : row.args) joined += a + " ";
    SCOPED_TRACE(joined);
    try {
      parse(row.args);
      ADD_FAILURE() << "accepted";
    } catch (const DaemonCliExit& e) {
      EXPECT_EQ(e.exit_code(), DAEMON_EXIT_USAGE);
      EXPECT_FALSE(e.is_help());
      EXPECT_NE(std::string(e.what()).find(row.needle), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace echelon::remote
