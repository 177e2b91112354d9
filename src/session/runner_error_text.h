// The runner's COMPLETION error text (protocol.md 7):
//   "[host=<gethostname()> worker=<id> callable=sha256:<hex> seq=<n>] <failure text>"
// cut by bytes at a UTF-8 boundary to at most 4096 bytes, so a long message still reports the task
// error instead of breaking the encoder (and with it the session).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include "echelon/callable.h"

namespace echelon::session {

// This host's name as gethostname() reports it ("unknown-host" if it cannot).
std::string local_host_name();

std::string task_error_text(std::string_view host, int32_t worker_id, const Digest& callable, uint64_t sequence,
                            std::string_view failure);

}  // namespace echelon::session

namespace echelon::session {

// The CONTROL_REPLY prefix of protocol.md 8: "[host=<h> worker=<id> control=<NAME> seq=<n>] <text>".
std::string control_error_text(std::string_view host, int32_t worker_id, std::string_view control_name,
                               uint64_t sequence, std::string_view failure);

}  // namespace echelon::session
