// Exception types. Every error names what was wrong; runtime errors carry their context fields.
#pragma once

#include <stdexcept>
#include <string>

namespace echelon {

// Base of every echelon exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value (tensor, config, option, descriptor) failed validation; the message names the field.
class ValidationError : public Error {
 public:
  using Error::Error;
};

// A submit was rejected before anything was committed (RT-301).
class SubmitError : public Error {
 public:
  using Error::Error;
};

// The slot pool or a heap ring stayed full until alloc_timeout (RT-307).
class BackPressureTimeout : public Error {
 public:
  using Error::Error;
};

// A bounded wait expired.
class TimeoutError : public Error {
 public:
  using Error::Error;
};

// A control request failed on its worker (RT-604).
class ControlError : public Error {
 public:
  using Error::Error;
};

// Callable identity / registration errors; the message starts with one of the names of
// callables.md section 12 (HASHID_FORMAT_INVALID, CALLABLE_HANDLE_MUTATED, ...).
class CallableError : public Error {
 public:
  using Error::Error;
};

// The root error of a failed run (RT-805/808), raised by run()/wait()/drain().
class RunError : public Error {
 public:
  using Error::Error;
};

// Wrong phase or wrong use of the Worker API (add after init, submit outside a run, ...).
class UsageError : public Error {
 public:
  using Error::Error;
};

// Cuts `text` to at most `max_bytes` bytes without splitting a UTF-8 sequence (RT-808).
std::string truncate_utf8(std::string_view text, size_t max_bytes);

}  // namespace echelon
