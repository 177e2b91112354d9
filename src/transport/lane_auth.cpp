#include "transport/lane_auth.h"

#include <span>

namespace echelon::transport {
namespace {

// The MAC input of 15.3: the encoded payload up to and including auth_nonce.
std::vector<uint8_t> mac_input(const wire::HelloPayload& hello) {
  std::vector<uint8_t> bytes = wire::encode_hello(hello);
  bytes.resize(wire::hello_mac_input_bytes(hello));
  return bytes;
}

const wire::HelloExt& auth_ext(const wire::HelloPayload& hello) {
  if (!(hello.feature_flags & wire::FEATURE_AUTH_HMAC_SHA256) || !hello.ext)
    fail_authentication("HELLO does not negotiate FEATURE_AUTH_HMAC_SHA256");
  return *hello.ext;
}

Mac runner_mac(const wire::HelloPayload& hello, const Secret& key) {
  return hmac_sha256(key.bytes(), {label_bytes("echelon/v1/hello-runner"), mac_input(hello)});
}

Mac parent_mac(const wire::HelloPayload& parent, const Nonce& runner_nonce, const Secret& key) {
  return hmac_sha256(key.bytes(), {label_bytes("echelon/v1/hello-parent"), runner_nonce, mac_input(parent)});
}

// Every field but the nonce and the MAC, which are each side's own.
bool copied_fields_match(const wire::HelloPayload& parent, const wire::HelloPayload& runner) {
  wire::HelloPayload expected = runner;
  expected.ready_state = wire::ReadyState::READY;
  expected.ext->auth_nonce = parent.ext->auth_nonce;
  expected.ext->auth_mac = parent.ext->auth_mac;
  return parent == expected;
}

}  // namespace

void sign_runner_hello(wire::HelloPayload& hello, const Secret& session_key) {
  if (!(hello.feature_flags & wire::FEATURE_AUTH_HMAC_SHA256) || !hello.ext)
    throw AuthError("sign_runner_hello: the HELLO must negotiate FEATURE_AUTH_HMAC_SHA256 and carry its extension");
  hello.ext->auth_nonce = random_nonce();
  hello.ext->auth_mac = runner_mac(hello, session_key);
}

void verify_runner_hello(const wire::HelloPayload& runner_hello, const Secret& session_key) {
  const auto& ext = auth_ext(runner_hello);
  if (!macs_equal(runner_mac(runner_hello, session_key), ext.auth_mac)) fail_authentication("runner HELLO MAC mismatch");
}

wire::HelloPayload make_parent_hello(const wire::HelloPayload& runner_hello, const Secret& session_key) {
  const Nonce runner_nonce = auth_ext(runner_hello).auth_nonce;
  wire::HelloPayload parent = runner_hello;
  parent.ready_state = wire::ReadyState::READY;
  parent.ext->auth_nonce = random_nonce();
  parent.ext->auth_mac = parent_mac(parent, runner_nonce, session_key);
  return parent;
}

void verify_parent_hello(const wire::HelloPayload& parent_hello, const wire::HelloPayload& runner_hello,
                         const Secret& session_key) {
  const Nonce runner_nonce = auth_ext(runner_hello).auth_nonce;
  const auto& ext = auth_ext(parent_hello);
  if (!copied_fields_match(parent_hello, runner_hello)) fail_authentication("parent HELLO fields differ from the runner's");
  if (!macs_equal(parent_mac(parent_hello, runner_nonce, session_key), ext.auth_mac))
    fail_authentication("parent HELLO MAC mismatch");
}

}  // namespace echelon::transport
