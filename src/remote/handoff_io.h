// Byte layouts of the daemon <-> runner pipes (runtime.md RT-911) and their deadline-bounded I/O:
//   handoff fd:  u32le manifest_len (1..16 MiB) | manifest | u32le key_len (0 or 32) | key, then EOF
//   status fd:   u32le status_len (1..65536) | status JSON (one message; EOF before it = no report)
// Lengths are checked before anything is allocated; every wait is bounded by one absolute deadline.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "echelon/errors.h"
#include "remote/bootstrap_reply.h"
#include "transport/deadline.h"

namespace echelon::remote {

inline constexpr size_t SESSION_KEY_BYTES = 32;

// A pipe broke its layout, closed early, or its deadline passed. The runner reports it as a
// StartupError; the daemon as the error of RT-911.
class HandoffError : public Error {
 public:
  HandoffError(const std::string& message, bool timed_out) : Error(message), timed_out_(timed_out) {}
  bool timed_out() const { return timed_out_; }

 private:
  bool timed_out_;
};

struct RunnerHandoff {
  std::string manifest_json;
  std::vector<uint8_t> session_key;  // empty without authentication
};

// Daemon side: the exact bytes written to the handoff pipe.
std::vector<uint8_t> encode_handoff(std::string_view manifest_json, std::span<const uint8_t> session_key);

// Runner side: reads the handoff fd to EOF and accepts exactly the layout above.
RunnerHandoff read_handoff(int fd, transport::Deadline deadline, size_t max_manifest_bytes = 16u * 1024 * 1024);

// Runner side: writes one status message (the caller closes the fd afterwards).
void write_status(int fd, const RunnerStatus& status, transport::Deadline deadline);

// Daemon side: reads the runner's status message. nullopt on EOF before any byte (the runner
// exited before reporting); HandoffError on a malformed message or the deadline.
std::optional<RunnerStatus> read_status(int fd, transport::Deadline deadline);

// Writes all of `bytes` to a non-blocking-capable fd within the deadline (the fd is switched to
// O_NONBLOCK: a blocking write larger than the pipe's free space would outlive the deadline).
// SIGPIPE is suppressed for this thread; a closed reader is a HandoffError.
void write_all_bounded(int fd, std::span<const uint8_t> bytes, transport::Deadline deadline, const char* what);

}  // namespace echelon::remote
