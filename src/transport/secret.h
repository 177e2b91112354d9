// Key material that must never leave the process in readable form: the shared secret of
// protocol.md 15.3 and the per-session keys derived from it. Formatting (operator<<, fmt) prints
// "<redacted>", the bytes are wiped on destruction, and copies must be asked for by name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <span>
#include <vector>

#include "fmt/format.h"

namespace echelon::transport {

class Secret {
 public:
  explicit Secret(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  explicit Secret(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  // An explicit copy, for the one hand-off that needs one (daemon -> runner pipe, RT-911).
  Secret clone() const { return Secret(std::span<const uint8_t>(bytes_)); }
  std::span<const uint8_t> bytes() const noexcept { return bytes_; }
  size_t size() const noexcept { return bytes_.size(); }

  friend std::ostream& operator<<(std::ostream& os, const Secret&);

 private:
  void wipe() noexcept;
  std::vector<uint8_t> bytes_;
};

inline constexpr size_t MIN_SECRET_BYTES = 32;
inline constexpr size_t MAX_SECRET_BYTES = 4096;

// Reads a shared-secret file exactly as protocol.md 15.3 requires: the exact bytes (no trimming),
// 32..4096 of them, from a regular file owned by the effective user with (mode & 077) == 0, all
// checked with fstat on the opened descriptor. Throws AuthError naming the path and the broken
// rule (never the content).
Secret load_secret_file(const std::filesystem::path& path);

}  // namespace echelon::transport

template <>
struct fmt::formatter<echelon::transport::Secret> : fmt::formatter<fmt::string_view> {
  auto format(const echelon::transport::Secret&, fmt::format_context& ctx) const {
    return fmt::formatter<fmt::string_view>::format("<redacted>", ctx);
  }
};
