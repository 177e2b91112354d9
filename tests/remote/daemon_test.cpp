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
    auto socket = transport::TcpSocket::connect({transport::AddressFamily::IPV4, "127.0.0.1", *d.port()},
                                                transport::deadline_in(2s));
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
    auto socket = transport::TcpSocket::connect({transport::AddressFamily::IPV4, "127.0.0.1", *d.port()},
                                                transport::deadline_in(2s));
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

  auto socket = transport::TcpSocket::connect({transport::AddressFamily::IPV4, "127.0.0.1", *d.port()},
                                              transport::deadline_in(2s));
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
      {"transport_profile", "ucx", "ManifestError"},
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

}  // namespace
}  // namespace echelon::remote::test
