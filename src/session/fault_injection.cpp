#include "session/fault_injection.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace echelon::session {

namespace {

constexpr double MAX_STALL_S = 600;

[[noreturn]] void malformed(const std::string& value, const std::string& why) {
  throw std::invalid_argument(fmt::format(
      "ECHELON_TEST_FAULT='{}' is malformed: {} (expected <fail|stall>:<CONTROL_NAME>[:<nth >= 1>])", value, why));
}

wire::ControlName control_named(const std::string& value, std::string_view name) {
  for (uint32_t v = wire::CONTROL_NAME_MIN; v <= wire::CONTROL_NAME_MAX; ++v) {
    const auto n = static_cast<wire::ControlName>(v);
    if (name == wire::to_string(n)) return n;
  }
  malformed(value, fmt::format("'{}' is not a control name", name));
}

uint64_t parse_count(const std::string& value, std::string_view text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string_view::npos)
    malformed(value, fmt::format("'{}' is not a count from 1 to 999999999", text));
  const uint64_t n = std::stoull(std::string(text));
  if (n == 0) malformed(value, "nth is 1-based");
  return n;
}

}  // namespace

std::string ControlFault::describe() const {
  return fmt::format("{} the #{} {}{}", action == Action::FAIL ? "fail" : "stall", nth, wire::to_string(control),
                     action == Action::STALL ? fmt::format(" for {:.3g} s", stall.count()) : std::string());
}

ControlFault parse_control_fault(const std::string& value, const char* stall_s) {
  ControlFault f;
  const size_t first = value.find(':');
  if (first == std::string::npos) malformed(value, "no ':' after the action");
  const std::string_view action = std::string_view(value).substr(0, first);
  if (action == "fail") f.action = ControlFault::Action::FAIL;
  else if (action == "stall") f.action = ControlFault::Action::STALL;
  else malformed(value, fmt::format("action '{}' is neither 'fail' nor 'stall'", action));
  const std::string_view rest = std::string_view(value).substr(first + 1);
  const size_t second = rest.find(':');
  f.control = control_named(value, rest.substr(0, second));
  if (second != std::string_view::npos) f.nth = parse_count(value, rest.substr(second + 1));
  if (stall_s) {
    char* end = nullptr;
    const double s = std::strtod(stall_s, &end);
    if (end == stall_s || *end != '\0' || !(s > 0) || s > MAX_STALL_S)
      throw std::invalid_argument(fmt::format("ECHELON_TEST_FAULT_STALL_S='{}' must be a number of seconds in (0, {}]",
                                              stall_s, MAX_STALL_S));
    f.stall = std::chrono::duration<double>(s);
  }
  return f;
}

std::optional<ControlFault> control_fault_from_env() {
#ifdef ECHELON_TEST_HOOKS
  const char* fault = std::getenv("ECHELON_TEST_FAULT");
  if (!fault || !*fault) return std::nullopt;
  return parse_control_fault(fault, std::getenv("ECHELON_TEST_FAULT_STALL_S"));
#else
  if (std::getenv("ECHELON_TEST_FAULT"))
    std::fprintf(stderr, "echelon-l3-session: ECHELON_TEST_FAULT is ignored: built without ECHELON_TEST_HOOKS\n");
  return std::nullopt;
#endif
}

FaultInjector::Decision FaultInjector::on_control(wire::ControlName name) {
  if (!fault_ || name != fault_->control) return Decision::NONE;
  if (++seen_ != fault_->nth) return Decision::NONE;
  return fault_->action == ControlFault::Action::FAIL ? Decision::FAIL : Decision::STALL;
}

}  // namespace echelon::session
