#include <openssl/evp.h>

#include "echelon/callable.h"
#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

const char* to_string(CallableKind k) {
  switch (k) {
    case CallableKind::CHIP_CALLABLE: return "CHIP_CALLABLE";
    case CallableKind::PYTHON_SERIALIZED: return "PYTHON_SERIALIZED";
    case CallableKind::PYTHON_IMPORT: return "PYTHON_IMPORT";
    case CallableKind::NATIVE_IMPORT: return "NATIVE_IMPORT";
    case CallableKind::NATIVE_INPROC: return "NATIVE_INPROC";
  }
  return "INVALID";
}

const char* to_string(TargetNamespace s) {
  switch (s) {
    case TargetNamespace::LOCAL_CHIP: return "LOCAL_CHIP";
    case TargetNamespace::LOCAL_PYTHON: return "LOCAL_PYTHON";
    case TargetNamespace::REMOTE_TASK_DISPATCHER: return "REMOTE_TASK_DISPATCHER";
    case TargetNamespace::LOCAL_NATIVE: return "LOCAL_NATIVE";
  }
  return "INVALID";
}

Digest sha256(std::span<const uint8_t> bytes) {
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    throw Error("OpenSSL EVP_Digest(SHA-256) failed");
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xF];
  }
  return out;
}

std::string to_hashid(const Digest& digest) { return "sha256:" + to_hex(digest); }

Digest parse_hashid(std::string_view text, bool allow_bare) {
  auto fail = [&](const char* why) -> Digest {
    throw CallableError(fmt::format("HASHID_FORMAT_INVALID: '{}' {}", text.substr(0, 80), why));
  };
  constexpr std::string_view prefix = "sha256:";
  std::string_view hex = text;
  if (text.starts_with(prefix)) {
    hex = text.substr(prefix.size());
  } else if (!allow_bare || text.size() != 64) {
    return fail("must start with 'sha256:'");
  }
  if (hex.size() != 64) return fail("must have exactly 64 hex digits after 'sha256:'");
  Digest d{};
  for (size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else return fail("must use lowercase hex digits only");
    d[i / 2] = static_cast<uint8_t>(i % 2 ? (d[i / 2] | v) : (v << 4));
  }
  return d;
}

CallableIdentity make_identity(std::span<const uint8_t> descriptor, CallableKind kind, TargetNamespace scope) {
  return CallableIdentity{sha256(descriptor), kind, scope};
}

}  // namespace echelon
