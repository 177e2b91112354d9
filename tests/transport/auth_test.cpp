// Authentication of protocol.md 15.3: the bootstrap exchange on a live loopback connection, the
// HELLO and health proofs, replay refusal, and key material never showing up in error texts.
#include <future>
#include <string>
#include <thread>

#include "transport/auth.h"
#include "transport/bootstrap_auth.h"
#include "transport/bootstrap_message.h"
#include "transport/lane_auth.h"
#include "transport/transport_error.h"
#include "transport_test_support.h"

namespace echelon::transport::test {
namespace {

using AuthTest = TransportTest;

const std::string SECRET_TEXT = "0123456789abcdef-the-shared-secret-bytes";
const std::string OTHER_TEXT = "fedcba9876543210-some-other-secret-bytes";

Secret secret_of(const std::string& text) { return Secret(Bytes(text.begin(), text.end())); }
Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string hex(std::span<const uint8_t> b) {
  std::string out;
  for (uint8_t x : b) out += fmt::format("{:02x}", x);
  return out;
}

// Key material must not appear in any text a failure produces.
void expect_no_key_material(const std::string& text) {
  for (const auto& s : {SECRET_TEXT, OTHER_TEXT}) {
    EXPECT_EQ(text.find(s), std::string::npos) << text;
    EXPECT_EQ(text.find(s.substr(0, 16)), std::string::npos) << text;
    EXPECT_EQ(text.find(hex(bytes_of(s)).substr(0, 16)), std::string::npos) << text;
  }
}

TEST(AuthPrimitives, HmacMatchesRfc4231TestCase2) {
  const Mac mac = hmac_sha256(label_bytes("Jefe"), {label_bytes("what do ya want "), label_bytes("for nothing?")});
  EXPECT_EQ(hex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(AuthPrimitives, MacComparisonIsExactAndLengthChecked) {
  Mac a = random_nonce(), b = a;
  EXPECT_TRUE(macs_equal(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(macs_equal(a, b));
  EXPECT_FALSE(macs_equal(a, std::span(a).first(31)));
}

TEST(AuthPrimitives, NoncesAndSessionIdsAreFresh) {
  EXPECT_NE(random_nonce(), random_nonce());
  for (int i = 0; i < 100; ++i) {
    const uint64_t id = random_session_id();
    EXPECT_NE(id, 0u);
    EXPECT_EQ(id >> 63, 0u);
  }
}

// Runs the daemon side of one bootstrap on a thread; returns the admitted manifest or the error.
struct DaemonOutcome {
  Bytes manifest;
  std::string error;
  BootstrapNonces nonces;
};

std::future<DaemonOutcome> run_daemon(TcpSocket& socket, const Secret& secret, const Bytes& reply) {
  return std::async(std::launch::async, [&socket, &secret, reply] {
    DaemonOutcome out;
    try {
      AdmittedRequest admitted = daemon_admit_bootstrap(socket, secret, deadline_in(2s));
      out.manifest = admitted.manifest;
      out.nonces = admitted.nonces;
      daemon_send_bootstrap_reply(socket, secret, admitted.nonces, reply, deadline_in(2s));
    } catch (const Error& e) {
      out.error = e.what();
      if (auto* auth = dynamic_cast<const AuthError*>(&e)) out.error += " / " + auth->reason();
    }
    return out;
  });
}

TEST_F(AuthTest, RightSecretPassesAndBothSidesDeriveTheSameSessionKey) {
  auto [parent, daemon] = connected_pair();
  const Secret daemon_secret = secret_of(SECRET_TEXT), parent_secret = secret_of(SECRET_TEXT);
  const Bytes manifest = bytes_of(R"({"session_id": 7})"), reply = bytes_of(R"({"ok": true})");
  auto outcome = run_daemon(daemon, daemon_secret, reply);
  BootstrapNonces nonces;
  const Bytes got = client_bootstrap_exchange(parent, parent_secret, manifest, deadline_in(2s), deadline_in(2s), nonces);
  const DaemonOutcome d = outcome.get();
  ASSERT_EQ(d.error, "");
  EXPECT_EQ(d.manifest, manifest);
  EXPECT_EQ(got, reply);
  EXPECT_EQ(d.nonces.daemon_nonce, nonces.daemon_nonce);
  EXPECT_EQ(d.nonces.client_nonce, nonces.client_nonce);
  const Secret k1 = derive_session_key(daemon_secret, d.nonces.daemon_nonce, d.nonces.client_nonce, 7, 3);
  const Secret k2 = derive_session_key(parent_secret, nonces.daemon_nonce, nonces.client_nonce, 7, 3);
  EXPECT_TRUE(macs_equal(k1.bytes(), k2.bytes()));
  const Secret other_worker = derive_session_key(daemon_secret, nonces.daemon_nonce, nonces.client_nonce, 7, 4);
  EXPECT_FALSE(macs_equal(k1.bytes(), other_worker.bytes()));
}

TEST_F(AuthTest, WrongSecretIsRefusedOnBothSidesWithAGenericMessage) {
  auto [parent, daemon] = connected_pair();
  const Secret daemon_secret = secret_of(SECRET_TEXT), parent_secret = secret_of(OTHER_TEXT);
  auto outcome = run_daemon(daemon, daemon_secret, bytes_of("{}"));
  BootstrapNonces nonces;
  try {
    client_bootstrap_exchange(parent, parent_secret, bytes_of("{}"), deadline_in(2s), deadline_in(2s), nonces);
    ADD_FAILURE() << "the parent accepted a refusal";
  } catch (const AuthError& e) {
    EXPECT_STREQ(e.what(), "authentication failed");
    expect_no_key_material(e.what() + std::string(" ") + e.reason());
  }
  const DaemonOutcome d = outcome.get();
  EXPECT_NE(d.error.find("authentication failed"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("MAC mismatch"), std::string::npos) << d.error;
  expect_no_key_material(d.error);
  EXPECT_TRUE(d.manifest.empty());
}

TEST_F(AuthTest, DaemonSendsThePlainRefusalBeforeClosing) {
  auto [parent, daemon] = connected_pair();
  const Secret secret = secret_of(SECRET_TEXT);
  auto outcome = run_daemon(daemon, secret, bytes_of("{}"));
  (void)read_bootstrap_message(parent, deadline_in(2s));  // the challenge
  write_bootstrap_message(parent, bytes_of(R"({"plain": "manifest"})"), deadline_in(2s));
  const Bytes refusal = read_bootstrap_message(parent, deadline_in(2s));
  EXPECT_EQ(std::string(refusal.begin(), refusal.end()), AUTH_FAILED_REPLY);
  EXPECT_NE(outcome.get().error.find("authentication failed"), std::string::npos);
}

TEST_F(AuthTest, ReplayedBootstrapRequestIsRefused) {
  const Secret secret = secret_of(SECRET_TEXT);
  const Bytes manifest = bytes_of(R"({"session_id": 1})");
  Bytes recorded;
  {
    auto [parent, daemon] = connected_pair();
    auto outcome = run_daemon(daemon, secret, bytes_of("{}"));
    const Nonce daemon_nonce = decode_bootstrap_challenge(read_bootstrap_message(parent, deadline_in(2s)));
    recorded = seal_bootstrap_request(secret, daemon_nonce, random_nonce(), manifest);
    write_bootstrap_message(parent, recorded, deadline_in(2s));
    ASSERT_EQ(outcome.get().error, "");
  }
  // An eavesdropper replays the recorded request on a new connection: the nonce differs now.
  auto [attacker, daemon] = connected_pair();
  auto outcome = run_daemon(daemon, secret, bytes_of("{}"));
  (void)read_bootstrap_message(attacker, deadline_in(2s));
  write_bootstrap_message(attacker, recorded, deadline_in(2s));
  const DaemonOutcome d = outcome.get();
  EXPECT_NE(d.error.find("authentication failed"), std::string::npos) << d.error;
  EXPECT_TRUE(d.manifest.empty());
}

TEST_F(AuthTest, SilentPeerFailsItsProofAtTheProofDeadline) {
  auto [parent, daemon] = connected_pair();
  const Secret secret = secret_of(SECRET_TEXT);
  std::string error;
  const double ms = elapsed_ms([&] {
    try {
      daemon_admit_bootstrap(daemon, secret, deadline_in(150ms));
    } catch (const AuthError& e) {
      error = e.what();
    }
  });
  EXPECT_EQ(error, "authentication failed");
  EXPECT_LT(ms, 1000);
}

TEST_F(AuthTest, ParentNoticesADaemonWithoutChallenge) {
  auto [parent, daemon] = connected_pair();
  write_bootstrap_message(daemon, bytes_of(R"({"ok": true})"), deadline_in(1s));
  BootstrapNonces nonces;
  try {
    client_bootstrap_exchange(parent, secret_of(SECRET_TEXT), bytes_of("{}"), deadline_in(1s), deadline_in(1s), nonces);
    ADD_FAILURE() << "accepted an unauthenticated daemon";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("did not send an authentication challenge"), std::string::npos);
  }
}

TEST_F(AuthTest, TamperedReplyIsRefusedByTheParent) {
  const Secret secret = secret_of(SECRET_TEXT);
  const Nonce dn = random_nonce(), cn = random_nonce();
  Bytes sealed = seal_bootstrap_reply(secret, cn, dn, bytes_of(R"({"ok": true})"));
  EXPECT_EQ(open_bootstrap_reply(secret, cn, dn, sealed), bytes_of(R"({"ok": true})"));
  sealed.back() ^= 1;
  EXPECT_THROW(open_bootstrap_reply(secret, cn, dn, sealed), AuthError);
  // Length fields must match the rest exactly.
  Bytes longer = seal_bootstrap_reply(secret, cn, dn, bytes_of("{}"));
  longer.push_back(0);
  EXPECT_THROW(open_bootstrap_reply(secret, cn, dn, longer), AuthError);
}

wire::HelloPayload runner_hello() {
  wire::HelloPayload h;
  h.session_id = 0x1234;
  h.worker_id = 2;
  h.comm_profile = "host_tcp";
  h.feature_flags = wire::FEATURE_AUTH_HMAC_SHA256;
  h.ext = wire::HelloExt{};
  return h;
}

TEST(LaneAuth, HelloProofsVerifyBothWays) {
  const Secret key = derive_session_key(secret_of(SECRET_TEXT), random_nonce(), random_nonce(), 0x1234, 2);
  wire::HelloPayload runner = runner_hello();
  sign_runner_hello(runner, key);
  EXPECT_NO_THROW(verify_runner_hello(runner, key));
  const wire::HelloPayload parent = make_parent_hello(runner, key);
  EXPECT_NE(parent.ext->auth_nonce, runner.ext->auth_nonce);
  EXPECT_NO_THROW(verify_parent_hello(parent, runner, key));
  // Survives the codec round trip the frames will take.
  EXPECT_NO_THROW(verify_parent_hello(wire::decode_hello(wire::encode_hello(parent)), runner, key));
}

TEST(LaneAuth, WrongKeyOrAlteredFieldIsRefused) {
  const Secret key = derive_session_key(secret_of(SECRET_TEXT), random_nonce(), random_nonce(), 0x1234, 2);
  const Secret wrong = derive_session_key(secret_of(OTHER_TEXT), random_nonce(), random_nonce(), 0x1234, 2);
  wire::HelloPayload runner = runner_hello();
  sign_runner_hello(runner, key);
  EXPECT_THROW(verify_runner_hello(runner, wrong), AuthError);
  EXPECT_THROW(verify_parent_hello(make_parent_hello(runner, wrong), runner, key), AuthError);
  wire::HelloPayload altered = make_parent_hello(runner, key);
  altered.comm_profile = "ucx";
  try {
    verify_parent_hello(altered, runner, key);
    ADD_FAILURE() << "accepted";
  } catch (const AuthError& e) {
    EXPECT_STREQ(e.what(), "authentication failed");
  }
}

TEST(LaneAuth, ReplayedParentHelloFromAnEarlierConnectionIsRefused) {
  const Secret key = derive_session_key(secret_of(SECRET_TEXT), random_nonce(), random_nonce(), 0x1234, 2);
  wire::HelloPayload first = runner_hello();
  sign_runner_hello(first, key);
  const wire::HelloPayload recorded = make_parent_hello(first, key);
  wire::HelloPayload second = runner_hello();  // the next command connection: a fresh runner nonce
  sign_runner_hello(second, key);
  EXPECT_THROW(verify_parent_hello(recorded, second, key), AuthError);
}

TEST(LaneAuth, HealthProofIsBoundToTheRunnerNonce) {
  const Secret key = derive_session_key(secret_of(SECRET_TEXT), random_nonce(), random_nonce(), 1, 0);
  const Nonce n1 = random_nonce(), n2 = random_nonce();
  const Mac proof = health_proof(key, n1);
  EXPECT_NO_THROW(verify_health_proof(key, n1, proof));
  EXPECT_THROW(verify_health_proof(key, n2, proof), AuthError);  // replay on a new connection
  EXPECT_THROW(verify_health_proof(key, n1, std::span(proof).first(16)), AuthError);
}

TEST(AuthPolicy, DaemonRefusesToRunWithoutASecretUnlessLoopbackAndInsecure) {
  const auto loop = parse_endpoint_address("127.0.0.1:0");
  const auto any = parse_endpoint_address("0.0.0.0:0");
  EXPECT_NO_THROW(check_daemon_auth_policy(any, true, false));
  EXPECT_THROW(check_daemon_auth_policy(loop, false, false), AuthError);
  EXPECT_NO_THROW(check_daemon_auth_policy(loop, false, true));
  EXPECT_THROW(check_daemon_auth_policy(any, false, true), AuthError);
}

}  // namespace
}  // namespace echelon::transport::test
