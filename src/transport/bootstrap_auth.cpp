#include "transport/bootstrap_auth.h"

#include <algorithm>
#include <array>
#include <string>

#include "transport/bootstrap_message.h"
#include "transport/transport_error.h"
#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/wire_error.h"

namespace echelon::transport {
namespace {

constexpr std::array<uint8_t, 4> ECB1_MAGIC = {'E', 'C', 'B', '1'};

void write_envelope_head(wire::ByteWriter& out) {
  out.fixed(ECB1_MAGIC);
  out.u32(BOOTSTRAP_AUTH_VERSION);
}

void read_envelope_head(wire::ByteReader& in) {
  std::array<uint8_t, 4> magic{};
  in.fixed("magic", magic);
  if (magic != ECB1_MAGIC) fail_authentication("not an ECB1 envelope");
  if (in.u32("auth_version") != BOOTSTRAP_AUTH_VERSION) fail_authentication("unknown auth_version");
}

// Decodes with the wire reader; any layout error becomes the generic refusal.
template <typename Fn>
auto decode_envelope(const char* record, std::span<const uint8_t> message, Fn&& fn) {
  try {
    wire::ByteReader in(message, record);
    read_envelope_head(in);
    auto result = fn(in);
    in.expect_end();  // manifest_len / reply_len must equal the rest exactly
    return result;
  } catch (const wire::WireError& e) {
    fail_authentication(std::string(record) + " malformed: " + e.what());
  }
}

Mac request_mac(const Secret& secret, const Nonce& daemon_nonce, const Nonce& client_nonce,
                std::span<const uint8_t> manifest) {
  return hmac_sha256(secret.bytes(), {label_bytes("echelon/v1/bootstrap-request"), daemon_nonce, client_nonce,
                                      sha256(manifest)});
}

Mac reply_mac(const Secret& secret, const Nonce& client_nonce, const Nonce& daemon_nonce,
              std::span<const uint8_t> reply) {
  return hmac_sha256(secret.bytes(),
                     {label_bytes("echelon/v1/bootstrap-reply"), client_nonce, daemon_nonce, sha256(reply)});
}

// The refusal is a courtesy: the connection is closed right after, whether it arrives or not.
void write_refusal_best_effort(TcpSocket& socket) noexcept {
  try {
    write_bootstrap_message(socket, label_bytes(AUTH_FAILED_REPLY), deadline_in(std::chrono::milliseconds(100)));
  } catch (const TransportError&) {
  }
}

}  // namespace

bool is_auth_envelope(std::span<const uint8_t> message) noexcept {
  return message.size() >= ECB1_MAGIC.size() && std::equal(ECB1_MAGIC.begin(), ECB1_MAGIC.end(), message.begin());
}

std::vector<uint8_t> encode_bootstrap_challenge(const Nonce& daemon_nonce) {
  wire::ByteWriter out;
  write_envelope_head(out);
  out.fixed(daemon_nonce);
  return out.take();
}

Nonce decode_bootstrap_challenge(std::span<const uint8_t> message) {
  return decode_envelope("BootstrapChallenge", message, [](wire::ByteReader& in) {
    Nonce n{};
    in.fixed("daemon_nonce", n);
    return n;
  });
}

std::vector<uint8_t> seal_bootstrap_request(const Secret& secret, const Nonce& daemon_nonce, const Nonce& client_nonce,
                                            std::span<const uint8_t> manifest) {
  wire::ByteWriter out;
  write_envelope_head(out);
  out.fixed(client_nonce);
  out.fixed(request_mac(secret, daemon_nonce, client_nonce, manifest));
  out.blob("manifest", manifest, wire::MAX_BOOTSTRAP_MESSAGE_BYTES);
  return out.take();
}

OpenedRequest open_bootstrap_request(const Secret& secret, const Nonce& daemon_nonce, std::span<const uint8_t> message) {
  return decode_envelope("BootstrapRequest", message, [&](wire::ByteReader& in) {
    OpenedRequest out;
    Mac mac{};
    in.fixed("client_nonce", out.client_nonce);
    in.fixed("mac", mac);
    const auto manifest = in.blob("manifest", wire::MAX_BOOTSTRAP_MESSAGE_BYTES);
    if (!macs_equal(request_mac(secret, daemon_nonce, out.client_nonce, manifest), mac))
      fail_authentication("bootstrap request MAC mismatch");
    out.manifest.assign(manifest.begin(), manifest.end());
    return out;
  });
}

std::vector<uint8_t> seal_bootstrap_reply(const Secret& secret, const Nonce& client_nonce, const Nonce& daemon_nonce,
                                          std::span<const uint8_t> reply) {
  wire::ByteWriter out;
  write_envelope_head(out);
  out.fixed(reply_mac(secret, client_nonce, daemon_nonce, reply));
  out.blob("reply", reply, wire::MAX_BOOTSTRAP_MESSAGE_BYTES);
  return out.take();
}

std::vector<uint8_t> open_bootstrap_reply(const Secret& secret, const Nonce& client_nonce, const Nonce& daemon_nonce,
                                          std::span<const uint8_t> message) {
  return decode_envelope("BootstrapReply", message, [&](wire::ByteReader& in) {
    Mac mac{};
    in.fixed("mac", mac);
    const auto reply = in.blob("reply", wire::MAX_BOOTSTRAP_MESSAGE_BYTES);
    if (!macs_equal(reply_mac(secret, client_nonce, daemon_nonce, reply), mac))
      fail_authentication("bootstrap reply MAC mismatch");
    return std::vector<uint8_t>(reply.begin(), reply.end());
  });
}

AdmittedRequest daemon_admit_bootstrap(TcpSocket& socket, const Secret& secret, Deadline proof_deadline) {
  AdmittedRequest out;
  out.nonces.daemon_nonce = random_nonce();
  write_bootstrap_message(socket, encode_bootstrap_challenge(out.nonces.daemon_nonce), proof_deadline);
  try {
    const auto message = read_bootstrap_message(socket, proof_deadline);
    OpenedRequest opened = open_bootstrap_request(secret, out.nonces.daemon_nonce, message);
    out.nonces.client_nonce = opened.client_nonce;
    out.manifest = std::move(opened.manifest);
    return out;
  } catch (const AuthError&) {
    write_refusal_best_effort(socket);
    throw;
  } catch (const TransportError& e) {
    // A silent or oversized proof is a failed proof; a broken connection has nobody to tell.
    if (e.code() == TransportErrc::PEER_CLOSED) throw;
    write_refusal_best_effort(socket);
    fail_authentication(std::string("no valid proof: ") + e.what());
  }
}

void daemon_send_bootstrap_reply(TcpSocket& socket, const Secret& secret, const BootstrapNonces& nonces,
                                 std::span<const uint8_t> reply, Deadline deadline) {
  write_bootstrap_message(socket, seal_bootstrap_reply(secret, nonces.client_nonce, nonces.daemon_nonce, reply),
                          deadline);
}

std::vector<uint8_t> client_bootstrap_exchange(TcpSocket& socket, const Secret& secret,
                                               std::span<const uint8_t> manifest, Deadline challenge_deadline,
                                               Deadline deadline, BootstrapNonces& nonces) {
  std::vector<uint8_t> challenge;
  try {
    challenge = read_bootstrap_message(socket, std::min(challenge_deadline, deadline));
  } catch (const TransportError& e) {
    if (e.code() != TransportErrc::TIMEOUT) throw;
    throw AuthError("the daemon sent no authentication challenge in time; is it running with --auth-secret-file?");
  }
  if (!is_auth_envelope(challenge))
    throw AuthError("the daemon did not send an authentication challenge; it may be running without a secret");
  nonces.daemon_nonce = decode_bootstrap_challenge(challenge);
  nonces.client_nonce = random_nonce();
  write_bootstrap_message(socket, seal_bootstrap_request(secret, nonces.daemon_nonce, nonces.client_nonce, manifest),
                          deadline);
  const auto reply = read_bootstrap_message(socket, deadline);
  if (!is_auth_envelope(reply)) fail_authentication("the daemon refused the request");
  return open_bootstrap_reply(secret, nonces.client_nonce, nonces.daemon_nonce, reply);
}

}  // namespace echelon::transport
