// The daemon's logs: one line per event on stderr (stdout carries only the "listening" line that
// tests and supervisors wait for), `key=value` fields after a timestamp and level, filtered by
// --log-level. No secret or session key is ever passed to a log call.
#pragma once

#include "remote/daemon_options.h"

namespace echelon::remote::daemon {

void configure_daemon_logging(LogLevel level);

}  // namespace echelon::remote::daemon
