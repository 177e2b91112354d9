#include "session/host_token.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>

#include "echelon/callable.h"
#include "echelon/errors.h"

namespace echelon::session {

namespace {
constexpr const char* BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";
}

HostToken host_token_of_boot_id(std::string_view boot_id) {
  while (!boot_id.empty() && (boot_id.back() == '\n' || boot_id.back() == '\r' || boot_id.back() == ' '))
    boot_id.remove_suffix(1);
  const Digest d = sha256(std::span(reinterpret_cast<const uint8_t*>(boot_id.data()), boot_id.size()));
  HostToken token{};
  std::memcpy(token.data(), d.data(), token.size());
  return token;
}

HostToken local_host_token() {
  std::ifstream in(BOOT_ID_PATH);
  std::stringstream text;
  if (in) text << in.rdbuf();
  const std::string id = text.str();
  if (!in || id.empty()) throw Error(fmt::format("cannot read {}: {}", BOOT_ID_PATH, std::strerror(errno)));
  return host_token_of_boot_id(id);
}

}  // namespace echelon::session
