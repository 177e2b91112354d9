#include "session/startup_failure.h"

#include <fmt/format.h>

namespace echelon::session {

void fail_startup(const std::string& step, const std::string& reason) {
  throw StartupFailure(remote::ReplyErrorType::StartupError, fmt::format("{}: {}", step, reason));
}

}  // namespace echelon::session
