#include "session/host_token.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

bool foreign_host_token_hook() {
  static const bool armed = [] {
    const char* value = std::getenv("ECHELON_TEST_FOREIGN_HOST_TOKEN");
    if (!value || !*value) return false;
#ifdef ECHELON_TEST_HOOKS
    const bool on = std::string_view(value) == "1";
    if (on)
      std::fprintf(stderr, "echelon-l3-session: WARNING: test hook armed: ECHELON_TEST_FOREIGN_HOST_TOKEN=1 (every "
                           "peer's host token counts as foreign; same-host imports take the RMA path)\n");
    return on;
#else
    std::fprintf(stderr,
                 "echelon-l3-session: ECHELON_TEST_FOREIGN_HOST_TOKEN is ignored: built without ECHELON_TEST_HOOKS\n");
    return false;
#endif
  }();
  return armed;
}

}  // namespace echelon::session
