// The daemon's shared secret (protocol.md 15.3): the exact bytes of a file, 32..4096 bytes, a
// regular file owned by the effective user with no group/other permission bits, checked with
// fstat on the opened descriptor (so a swapped path cannot pass the check and then be read).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace echelon::remote {

inline constexpr size_t MIN_SECRET_BYTES = 32;
inline constexpr size_t MAX_SECRET_BYTES = 4096;

// Holds the secret; never printable, wiped on destruction.
class AuthSecret {
 public:
  // Throws ValidationError naming the path and the failed rule (never the contents).
  static AuthSecret load(const std::string& path);
  ~AuthSecret();
  AuthSecret(AuthSecret&&) noexcept = default;
  AuthSecret& operator=(AuthSecret&&) noexcept = default;
  AuthSecret(const AuthSecret&) = delete;
  AuthSecret& operator=(const AuthSecret&) = delete;

  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  AuthSecret() = default;
  std::vector<uint8_t> bytes_;
};

}  // namespace echelon::remote
