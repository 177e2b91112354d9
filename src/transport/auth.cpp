#include "transport/auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>

#include "wire/le_bytes.h"

namespace echelon::transport {
namespace {

struct MacDeleter {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

[[noreturn]] void crypto_failure(const char* what) {
  throw AuthError(std::string("OpenSSL ") + what + " failed");
}

}  // namespace

void fail_authentication(std::string reason) { throw AuthError(AUTH_FAILED, std::move(reason)); }

Nonce random_nonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) crypto_failure("RAND_bytes");
  return n;
}

uint64_t random_session_id() {
  while (true) {
    uint8_t b[8];
    if (RAND_bytes(b, sizeof b) != 1) crypto_failure("RAND_bytes");
    const uint64_t id = wire::load_le<uint64_t>(b) >> 1;
    if (id != 0) return id;
  }
}

Digest sha256(std::span<const uint8_t> bytes) {
  Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size())
    crypto_failure("SHA-256");
  return d;
}

Mac hmac_sha256(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> parts) {
  static const std::unique_ptr<EVP_MAC, MacDeleter> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!hmac) crypto_failure("EVP_MAC_fetch(HMAC)");
  std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx(EVP_MAC_CTX_new(hmac.get()));
  if (!ctx) crypto_failure("EVP_MAC_CTX_new");
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) crypto_failure("HMAC init");
  for (const auto& part : parts)
    if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) crypto_failure("HMAC update");
  Mac out{};
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) crypto_failure("HMAC final");
  return out;
}

bool macs_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  // The lengths are public (fixed 32 in every use); only the content comparison must not leak.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::span<const uint8_t> label_bytes(std::string_view label) noexcept {
  return {reinterpret_cast<const uint8_t*>(label.data()), label.size()};
}

Secret derive_session_key(const Secret& secret, const Nonce& daemon_nonce, const Nonce& client_nonce,
                          uint64_t session_id, int32_t worker_id) {
  uint8_t ids[12];
  wire::store_le(ids, session_id);
  wire::store_le(ids + 8, worker_id);
  const Mac key = hmac_sha256(secret.bytes(),
                              {label_bytes("echelon/v1/session-key"), daemon_nonce, client_nonce, std::span(ids)});
  return Secret(std::span<const uint8_t>(key));
}

Mac health_proof(const Secret& session_key, const Nonce& runner_nonce) {
  return hmac_sha256(session_key.bytes(), {label_bytes("echelon/v1/health"), runner_nonce});
}

void verify_health_proof(const Secret& session_key, const Nonce& runner_nonce, std::span<const uint8_t> proof) {
  if (!macs_equal(health_proof(session_key, runner_nonce), proof)) fail_authentication("health proof mismatch");
}

void check_daemon_auth_policy(const EndpointAddress& listen, bool has_secret, bool insecure_no_auth) {
  if (has_secret) return;
  if (!insecure_no_auth)
    throw AuthError("refusing to start without an auth secret: pass --auth-secret-file, or --insecure-no-auth "
                    "to run unauthenticated on a loopback address");
  if (!listen.is_loopback())
    throw AuthError("refusing to listen on non-loopback address " + listen.to_string() +
                    " without an auth secret (--insecure-no-auth allows loopback addresses only)");
}

}  // namespace echelon::transport
