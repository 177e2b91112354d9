#include "remote/session_shm_names.h"

#include <sys/mman.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

namespace echelon::remote {

namespace {

// Lowercase hex of 1..max_digits digits without leading zeros (unless fixed_width), as written
// by fmt's {:x}; anything else is not a name this scheme produces.
std::optional<uint64_t> parse_hex(std::string_view text, size_t max_digits, bool fixed_width) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  if (fixed_width && text.size() != max_digits) return std::nullopt;
  if (!fixed_width && text.size() > 1 && text.front() == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

std::string session_shm_prefix(uint64_t session_id) { return fmt::format("es{:016x}_", session_id); }

std::string session_shm_name(uint64_t session_id, ShmKind kind, uint64_t counter) {
  if (counter == 0 || counter > MAX_SHM_COUNTER)
    throw std::out_of_range(fmt::format("shared-memory counter {} is outside 1..{:#x}", counter, MAX_SHM_COUNTER));
  return fmt::format("/{}{}{:x}", session_shm_prefix(session_id), static_cast<char>(kind), counter);
}

std::optional<ParsedShmName> parse_session_shm_name(std::string_view name) {
  constexpr size_t SESSION_HEX = 16;
  // "/es" + 16 hex + "_" + kind + at least one counter digit
  if (name.size() < 3 + SESSION_HEX + 3 || name.substr(0, 3) != "/es") return std::nullopt;
  const auto session = parse_hex(name.substr(3, SESSION_HEX), SESSION_HEX, true);
  if (!session || name[3 + SESSION_HEX] != '_') return std::nullopt;
  const char k = name[4 + SESSION_HEX];
  if (k != static_cast<char>(ShmKind::OWNER) && k != static_cast<char>(ShmKind::INLINE)) return std::nullopt;
  const auto counter = parse_hex(name.substr(5 + SESSION_HEX), 12, false);
  if (!counter || *counter == 0) return std::nullopt;
  return ParsedShmName{*session, static_cast<ShmKind>(k), *counter};
}

size_t sweep_session_shm(uint64_t session_id) {
  const std::string prefix = session_shm_prefix(session_id);
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !parse_session_shm_name("/" + name)) continue;
    if (::shm_unlink(("/" + name).c_str()) == 0) ++removed;
  }
  return removed;
}

std::string session_private_dir_prefix(uint64_t session_id) { return fmt::format("echelon-s{:016x}-", session_id); }

size_t sweep_session_private_dir(uint64_t session_id) {
  const char* tmp = std::getenv("TMPDIR");
  const std::filesystem::path root = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  const std::string prefix = session_private_dir_prefix(session_id);
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    // Exactly mkdtemp's six-character suffix: nothing else of ours or anyone's matches.
    if (name.size() != prefix.size() + 6 || name.rfind(prefix, 0) != 0 || !entry.is_directory(ec)) continue;
    std::error_code rm;
    if (std::filesystem::remove_all(entry.path(), rm) > 0 && !rm) ++removed;
  }
  return removed;
}

}  // namespace echelon::remote
