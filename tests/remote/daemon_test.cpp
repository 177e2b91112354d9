// Process tests of the echelon-remote-worker daemon (runtime.md 9, RT-901..911; protocol.md 1.1,
// 15.3): the real binary, with the fake runner as its session binary, on an ephemeral loopback
// port. What "no runner was spawned" means here: the fake runner writes a report file the moment
// it starts, so an empty report directory proves no process was created.
#include <gtest/gtest.h>

#include <csignal>

#include "daemon_harness.h"
#include "remote/bootstrap_reply.h"
#include "remote/daemon_options.h"
#include "remote_test_support.h"
#include "transport/auth.h"
#include "transport/bootstrap_auth.h"
#include "transport/bootstrap_message.h"
#include "transport/tcp_socket.h"

namespace echelon::remote::test {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kEphemeral = {"--listen=127.0.0.1:0"};

std::vector<std::string> with_secret(const SecretFile& s) { return {"--listen=127.0.0.1:0", "--auth-secret-file=" + s.path}; }
std::vector<std::string> insecure() { return {"--listen=127.0.0.1:0", "--insecure-no-auth"}; }


std::string session_manifest(uint64_t session_id = 4611686018427387905ull) {
  json m = valid_manifest_json();
  m["session_id"] = std::to_string(session_id);
  return m.dump();
}

BootstrapReply expect_ok(const std::string& reply_json) {
  const BootstrapReply reply = parse_reply(reply_json);
  EXPECT_TRUE(reply.ok()) << reply_json;
  return reply;
}

TEST(Daemon, NoSecretWithoutInsecureFlagRefusesToStart) {
  DaemonProcess d(kEphemeral);
  EXPECT_FALSE(d.port()) << "it must refuse before binding";
  EXPECT_EQ(d.wait_exit(), DAEMON_EXIT_USAGE);
}

TEST(Daemon, BindsLoopbackByDefault) {
  const char* argv[] = {"echelon-remote-worker", "--insecure-no-auth"};
  const DaemonOptions o = parse_daemon_options(2, argv);
  EXPECT_EQ(o.listen.to_string(), "127.0.0.1:19073");
  EXPECT_TRUE(o.listen.is_loopback());
  // Leaving loopback needs a secret, even with the insecure flag (WIRE-35).
  const char* open_argv[] = {"echelon-remote-worker", "--insecure-no-auth", "--listen=0.0.0.0:0"};
  try {
    parse_daemon_options(3, open_argv);
    ADD_FAILURE() << "non-loopback without a secret was accepted";
  } catch (const DaemonCliExit& e) {
    EXPECT_EQ(e.exit_code(), DAEMON_EXIT_USAGE);
  }
  // And the binary really binds where it says.
  DaemonProcess d(insecure());
  ASSERT_TRUE(d.port());
}

TEST(Daemon, WrongSecretRejected) {
  SecretFile daemon_secret, other_secret;
  DaemonProcess d(with_secret(daemon_secret));
  ASSERT_TRUE(d.port());
  const std::string manifest = session_manifest();
  const auto manifest_bytes = std::span(reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size());

  // Wrong secret: a well-formed envelope whose MAC does not verify gets the plain refusal.
  {
    auto socket = connect_local(*d.port());
    const auto challenge = transport::read_bootstrap_message(socket, transport::deadline_in(2s));
    const transport::Nonce daemon_nonce = transport::decode_bootstrap_challenge(challenge);
    const transport::Secret wrong = other_secret.load();
    transport::write_bootstrap_message(
        socket, transport::seal_bootstrap_request(wrong, daemon_nonce, transport::random_nonce(), manifest_bytes),
        transport::deadline_in(2s));
    const auto reply = transport::read_bootstrap_message(socket, transport::deadline_in(2s));
    EXPECT_EQ(std::string(reply.begin(), reply.end()), transport::AUTH_FAILED_REPLY);
  }
  // Missing auth: the plain manifest in place of an envelope is refused the same way.
  {
    auto socket = connect_local(*d.port());
    transport::read_bootstrap_message(socket, transport::deadline_in(2s));
    transport::write_bootstrap_message(socket, manifest_bytes, transport::deadline_in(2s));
    const auto reply = transport::read_bootstrap_message(socket, transport::deadline_in(2s));
    EXPECT_EQ(std::string(reply.begin(), reply.end()), transport::AUTH_FAILED_REPLY);
  }
  // The client helper with the wrong secret sees an authentication failure.
  const transport::Secret wrong = other_secret.load();
  EXPECT_THROW(bootstrap(*d.port(), &wrong, manifest), transport::AuthError);

  EXPECT_TRUE(d.runner_reports().empty()) << "a refused request must not spawn a runner";
  EXPECT_TRUE(process_alive(d.pid()));
}

TEST(Daemon, RightSecretSpawnsRunnerAndReplies) {
  SecretFile secret_file;
  DaemonProcess d(with_secret(secret_file));
  ASSERT_TRUE(d.port());
  const transport::Secret secret = secret_file.load();

  auto socket = connect_local(*d.port());
  const std::string manifest = session_manifest(1234567890123ull);
  transport::BootstrapNonces nonces;
  const auto reply_bytes = transport::client_bootstrap_exchange(
      socket, secret, std::span(reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size()),
      transport::deadline_in(2s), transport::deadline_in(5s), nonces);
  const BootstrapReply reply = expect_ok(std::string(reply_bytes.begin(), reply_bytes.end()));
  EXPECT_EQ(reply.session_id, 1234567890123ull);
  EXPECT_EQ(reply.worker_id, 7u);
  const auto& lanes = std::get<LaneAddresses>(reply.outcome);
  EXPECT_EQ(lanes.command_port, 1);  // what the fake runner reports
  EXPECT_EQ(lanes.health_port, 2);

  const auto reports = d.runner_reports();
  ASSERT_EQ(reports.size(), 1u);
  const json& r = reports[0];
  EXPECT_EQ(r.at("manifest_session_id"), "1234567890123");
  EXPECT_EQ(r.at("bind_ip"), "127.0.0.1");
  EXPECT_EQ(r.at("pgid"), r.at("pid")) << "the runner leads its own process group";
  // The runner got the session key both sides derive; the secret itself never left the daemon.
  const transport::Secret key =
      transport::derive_session_key(secret, nonces.daemon_nonce, nonces.client_nonce, 1234567890123ull, 7);
  EXPECT_EQ(r.at("session_key_hex"), to_hex(key.bytes()));
  EXPECT_TRUE(process_alive(r.at("pid").get<pid_t>())) << "the daemon keeps the runner after replying";
}

TEST(Daemon, InvalidManifestSpawnsNothing) {
  SecretFile secret_file;
  DaemonProcess d(with_secret(secret_file));
  ASSERT_TRUE(d.port());
  const transport::Secret secret = secret_file.load();

  struct Case {
    const char* key;
    json value;  // null: remove the key
    const char* type;
  };
  const Case cases[] = {
      {"session_id", "0", "ManifestError"},
      {"worker_id", -1, "ManifestError"},
      {"parent_worker_level", 3, "ManifestError"},
      {"remote_worker_level", 4, "ManifestError"},
      {"num_chips", 65, "ManifestError"},
      {"heap_ring_bytes", 1000, "ManifestError"},
      {"startup_budget_s", 0, "ManifestError"},
      {"startup_budget_s", nullptr, "ManifestError"},
      {"health_expiry_s", 0.1, "ManifestError"},
      {"shutdown_timeout_s", -1, "ManifestError"},
      {"transport_profile", "rdma", "ManifestError"},
      {"remote_task_dispatcher", json::array({chip_entry(16)}), "RegistryError"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    json m = valid_manifest_json();
    if (c.value.is_null())
      m.erase(c.key);
    else
      m[c.key] = c.value;
    const BootstrapReply reply = parse_reply(bootstrap(*d.port(), &secret, m.dump()));
    ASSERT_FALSE(reply.ok());
    const std::string text = std::get<ReplyError>(reply.outcome).text();
    EXPECT_TRUE(text.starts_with(std::string(c.type) + ": ")) << text;
    EXPECT_NE(text.find(c.key), std::string::npos) << "the error must name the field: " << text;
  }
  // Not even JSON, and a stray unknown key.
  for (const std::string& bad : {std::string("not json"), std::string(R"({"manifest_version": 1, "bogus": 1})")}) {
    const BootstrapReply reply = parse_reply(bootstrap(*d.port(), &secret, bad));
    EXPECT_FALSE(reply.ok());
  }
  EXPECT_TRUE(d.runner_reports().empty()) << "an invalid manifest must not spawn a runner";
  EXPECT_FALSE(d.has_children());
}


std::vector<uint8_t> with_length_prefix(uint32_t length, std::string_view body) {
  std::vector<uint8_t> out(4 + body.size());
  for (int i = 0; i < 4; ++i) out[i] = uint8_t(length >> (8 * i));
  std::copy(body.begin(), body.end(), out.begin() + 4);
  return out;
}

TEST(Daemon, BadRequestIsIsolated) {
  DaemonProcess d(insecure());
  ASSERT_TRUE(d.port());
  const uint16_t port = *d.port();

  // A connection that says nothing holds its own session thread; others are served meanwhile.
  auto silent = connect_local(port);

  // Oversized length prefix: refused before anything is read or allocated (WIRE-1).
  const auto oversized = send_raw(port, with_length_prefix(0xFFFFFFFFu, ""));
  ASSERT_GT(oversized.size(), 4u);
  const BootstrapReply refused = parse_reply(std::string(oversized.begin() + 4, oversized.end()));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(std::get<ReplyError>(refused.outcome).text().starts_with("ManifestError: bootstrap request"));

  send_raw(port, {'G', 'A', 'R', 'B', 'A', 'G', 'E', '!', 0, 1, 2, 3});  // garbage bytes
  send_raw(port, with_length_prefix(100, "{\"manifest"));                // truncated message
  send_raw(port, {0x10, 0x00});                                           // truncated length prefix
  const auto not_json = send_raw(port, with_length_prefix(8, "not json"));
  ASSERT_GT(not_json.size(), 4u);
  EXPECT_FALSE(parse_reply(std::string(not_json.begin() + 4, not_json.end())).ok());

  // The daemon still serves a well-formed session, while the silent connection is still open.
  expect_ok(bootstrap(port, nullptr, session_manifest()));
  EXPECT_EQ(d.runner_reports().size(), 1u) << "only the well-formed session spawns a runner";
  EXPECT_TRUE(process_alive(d.pid()));
}

TEST(Daemon, SessionsOpenAndCloseInALoop) {
  SecretFile secret_file;
  // "ready": the fake runner reports and exits at once, so each session opens and closes.
  DaemonProcess d(with_secret(secret_file), "ready");
  ASSERT_TRUE(d.port());
  const transport::Secret secret = secret_file.load();
  const size_t baseline_fds = d.open_fd_count();

  for (uint64_t i = 1; i <= 10; ++i) expect_ok(bootstrap(*d.port(), &secret, session_manifest(i)));

  const auto reports = d.runner_reports();
  ASSERT_EQ(reports.size(), 10u);
  // Reaping happens when each runner exits; the last one may still be on its way out.
  EXPECT_TRUE(wait_until([&] { return !d.has_children(); })) << "runners left unreaped";
  for (const json& r : reports) EXPECT_FALSE(process_alive(r.at("pid").get<pid_t>()));
  EXPECT_TRUE(wait_until([&] { return d.open_fd_count() == baseline_fds; }))
      << "fds: " << d.open_fd_count() << " now, " << baseline_fds << " at start";
}

TEST(Daemon, ShutdownKillsRunnerGroups) {
  SecretFile secret_file;
  DaemonProcess d(with_secret(secret_file), "hang_with_child");
  ASSERT_TRUE(d.port());
  const transport::Secret secret = secret_file.load();
  expect_ok(bootstrap(*d.port(), &secret, session_manifest(1)));
  expect_ok(bootstrap(*d.port(), &secret, session_manifest(2)));

  std::vector<pid_t> runners_and_children;
  for (const json& r : d.runner_reports()) {
    runners_and_children.push_back(r.at("pid").get<pid_t>());
    runners_and_children.push_back(r.at("grandchild").get<pid_t>());
  }
  ASSERT_EQ(runners_and_children.size(), 4u);
  for (pid_t p : runners_and_children) ASSERT_TRUE(process_alive(p));

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), DAEMON_EXIT_OK);
  // The runners were the daemon's children (reaped before it exited); the grandchildren were
  // killed with their group and are gone or waiting for init to reap them.
  for (pid_t p : runners_and_children) EXPECT_TRUE(wait_until([&] { return !process_alive(p); })) << p;
}

TEST(Daemon, ShutdownDuringBootstrapEndsPromptly) {
  SecretFile secret_file;
  // The runner never reports: its session thread is waiting on the status pipe at SIGINT.
  DaemonProcess d(with_secret(secret_file), "hang_no_status");
  ASSERT_TRUE(d.port());
  const transport::Secret secret = secret_file.load();
  auto socket = connect_local(*d.port());
  // Half a handshake: read the challenge, then send the request and leave the reply unread.
  const auto challenge = transport::read_bootstrap_message(socket, transport::deadline_in(2s));
  const transport::Nonce daemon_nonce = transport::decode_bootstrap_challenge(challenge);
  const std::string manifest = session_manifest();
  transport::write_bootstrap_message(
      socket,
      transport::seal_bootstrap_request(secret, daemon_nonce, transport::random_nonce(),
                                        std::span(reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size())),
      transport::deadline_in(2s));
  ASSERT_TRUE(wait_until([&] { return d.runner_reports().size() == 1; }));
  const pid_t runner = d.runner_reports()[0].at("pid").get<pid_t>();

  d.signal(SIGINT);
  EXPECT_EQ(d.wait_exit(), DAEMON_EXIT_OK);
  EXPECT_FALSE(process_alive(runner));
}

}  // namespace
}  // namespace echelon::remote::test
