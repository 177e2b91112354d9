#include "session/runner_error_text.h"

#include <fmt/format.h>
#include <unistd.h>

#include "wire/wire_status.h"

namespace echelon::session {

std::string local_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "unknown-host";
  return name;
}

std::string task_error_text(std::string_view host, int32_t worker_id, const Digest& callable, uint64_t sequence,
                            std::string_view failure) {
  return wire::bounded_error_text(
      fmt::format("[host={} worker={} callable={} seq={}] {}", host, worker_id, to_hashid(callable), sequence, failure));
}

}  // namespace echelon::session

namespace echelon::session {

std::string control_error_text(std::string_view host, int32_t worker_id, std::string_view control_name,
                               uint64_t sequence, std::string_view failure) {
  return wire::bounded_error_text(
      fmt::format("[host={} worker={} control={} seq={}] {}", host, worker_id, control_name, sequence, failure));
}

}  // namespace echelon::session
