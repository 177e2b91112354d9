// A prestart step failed (RT-904): carries the bootstrap-reply type the daemon relays, so the
// runner's status message says what kind of failure it was ("StartupError: ...").
#pragma once
#include <string>
#include "echelon/errors.h"
#include "remote/bootstrap_reply.h"

namespace echelon::session {

class StartupFailure : public Error {
 public:
  StartupFailure(remote::ReplyErrorType type, const std::string& message) : Error(message), type_(type) {}
  remote::ReplyErrorType type() const { return type_; }
  remote::ReplyError reply_error() const { return remote::make_reply_error(type_, what()); }

 private:
  remote::ReplyErrorType type_;
};

// StartupError naming the prestart step that failed.
[[noreturn]] void fail_startup(const std::string& step, const std::string& reason);

}  // namespace echelon::session
