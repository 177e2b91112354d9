// Test fault injection on the command lane (built only with the CMake option ECHELON_TEST_HOOKS,
// on by default). The runner reads
//   ECHELON_TEST_FAULT=<fail|stall>:<CONTROL_NAME>[:<nth, 1-based, default 1>]
// at start: the nth CONTROL of that name is either answered FAILED ("injected fault") without
// being applied, or handled only after a sleep of ECHELON_TEST_FAULT_STALL_S seconds (default 20,
// at most 600), so the parent's control deadline passes first. The daemon passes its environment
// on to its runners, so a test arms a fault by starting its daemon with the variable set.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include "wire/control.h"

namespace echelon::session {

struct ControlFault {
  enum class Action { FAIL, STALL };
  Action action = Action::FAIL;
  wire::ControlName control = wire::ControlName::PREPARE_CALLABLE;
  uint64_t nth = 1;
  std::chrono::duration<double> stall{20.0};

  std::string describe() const;
};

// Parses the two variables' values; throws std::invalid_argument naming the variable and the rule.
ControlFault parse_control_fault(const std::string& fault, const char* stall_s);

// The fault armed by the environment: nullopt when ECHELON_TEST_FAULT is unset (or the build has no
// test hooks). Throws std::invalid_argument for a malformed value.
std::optional<ControlFault> control_fault_from_env();

// Counts the controls of the armed name and says what to do with each.
class FaultInjector {
 public:
  explicit FaultInjector(std::optional<ControlFault> fault) : fault_(std::move(fault)) {}
  enum class Decision { NONE, FAIL, STALL };
  Decision on_control(wire::ControlName name);
  std::chrono::duration<double> stall() const { return fault_ ? fault_->stall : std::chrono::duration<double>{}; }

 private:
  std::optional<ControlFault> fault_;
  uint64_t seen_ = 0;
};

}  // namespace echelon::session
