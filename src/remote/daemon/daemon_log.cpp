#include "remote/daemon/daemon_log.h"

#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace echelon::remote::daemon {
namespace {

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::ERROR: return spdlog::level::err;
    case LogLevel::WARN: return spdlog::level::warn;
    case LogLevel::INFO: return spdlog::level::info;
    case LogLevel::DEBUG: return spdlog::level::debug;
  }
  return spdlog::level::info;
}

}  // namespace

void configure_daemon_logging(LogLevel level) {
  spdlog::drop("echelon-remote-worker");  // configuring twice replaces, never throws
  auto logger = spdlog::stderr_logger_mt("echelon-remote-worker");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e level=%l %v");
  logger->set_level(to_spdlog(level));
  // Warnings and errors are rare and matter: do not lose them to buffering if the daemon dies.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace echelon::remote::daemon
