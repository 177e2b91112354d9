// Test harness: plays the daemon (spawn_runner with a manifest, read the status) and the parent
// (connects both lanes, checks HELLO, sends commands) against the real echelon-l3-session.
#pragma once

#include "proc_probe.h"
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "remote/manifest.h"
#include "remote/runner_handoff.h"
#include "transport/frame_channel.h"
#include "transport/inbound_frame.h"
#include "wire/completion.h"
#include "wire/frame_codec.h"
#include "wire/hello.h"
#include "wire/task_payload.h"

namespace echelon::session_test {

using echelon::testing::live_children;
using echelon::testing::process_alive;

inline constexpr uint64_t SESSION_ID = 0x1234'5678'9abcULL;
inline constexpr int32_t WORKER_ID = 7;

// A NATIVE_IMPORT dispatcher entry for `symbol` in the test plugin.
remote::ManifestEntry plugin_entry(const std::string& symbol);
Digest plugin_digest(const std::string& symbol);

// A manifest with fast health (interval 0.05 s, expiry 1 s) and the three test plugin entries.
remote::BootstrapManifest test_manifest(uint32_t num_sub_workers = 1);

// A TASK for `digest` whose single tensor is HOST_INLINE `bytes`, plus the given scalars.
wire::TaskPayload inline_task(const Digest& digest, const std::vector<uint8_t>& bytes, std::vector<uint64_t> scalars);

// Live (non-zombie) processes whose parent is `pid`: the runner's inner chip and SUB children.
// True while `pid` exists and is not a zombie.

class RunnerSession {
 public:
  // Spawns the runner, reads its status (must be ok), connects the command lane and receives
  // HELLO, then connects the health lane and receives HEALTH 1. Fails the test (ADD_FAILURE +
  // throw) on any step.
  explicit RunnerSession(const remote::BootstrapManifest& manifest);
  ~RunnerSession();

  const wire::HelloPayload& hello() const { return hello_; }
  const wire::FrameHeader& hello_header() const { return hello_header_; }
  int pid() const { return runner_.pid(); }
  // The runner's child processes seen when HELLO arrived.
  const std::vector<int>& children_at_hello() const { return children_at_hello_; }

  // Sends a TASK with the next sequence and waits (bounded) for its COMPLETION.
  wire::CompletionPayload run_task(const wire::TaskPayload& task, std::chrono::milliseconds timeout);
  uint64_t send_task(const wire::TaskPayload& task);
  wire::CompletionPayload await_completion(uint64_t sequence, std::chrono::milliseconds timeout);
  // Sends raw frame bytes on the command lane.
  void send_raw(std::vector<uint8_t> frame);
  uint64_t next_sequence() { return next_sequence_++; }
  void send_shutdown();
  // Closes the parent's end of both lanes.
  void close_lanes();

  // Health frames received so far (drains the health lane without blocking).
  std::vector<transport::InboundFrame> drain_health();

  // Waits (bounded) for the runner to exit; the exit description ("exited with status 0").
  std::optional<std::string> wait_exit(std::chrono::milliseconds timeout);

 private:
  remote::RunnerProcess runner_;
  std::unique_ptr<transport::FrameChannel> command_;
  std::unique_ptr<transport::FrameChannel> health_;
  wire::HelloPayload hello_;
  wire::FrameHeader hello_header_;
  std::vector<int> children_at_hello_;
  uint64_t next_sequence_ = 1;
};

}  // namespace echelon::session_test
