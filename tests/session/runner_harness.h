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
#include "echelon/chip_callable.h"
#include "wire/completion.h"
#include "wire/control.h"
#include "wire/frame_codec.h"
#include "wire/hello.h"
#include "wire/task_payload.h"

namespace echelon::session_test {

using echelon::testing::live_children;
using echelon::testing::process_alive;

inline constexpr uint64_t SESSION_ID = 0x1234'5678'9abcULL;
inline constexpr int32_t WORKER_ID = 7;

// SESSION_ID made unique per call and test process: a runner names its shared-memory objects after
// its session id, so tests running in parallel must never share one.
uint64_t unique_session_id();

// A NATIVE_IMPORT dispatcher entry for `symbol` in the test plugin.
remote::ManifestEntry plugin_entry(const std::string& symbol);
Digest plugin_digest(const std::string& symbol);

// A manifest with a unique session id, fast health (interval 0.05 s, expiry 1 s) and the test
// plugin's entries.
remote::BootstrapManifest test_manifest(uint32_t num_sub_workers = 1);

// The test chip kernels (tests/session/kernels): inc_u8 and sum_u8.
ChipCallable test_kernel(const std::string& name);
// test_manifest plus one inner chip that has both test kernels loaded.
remote::BootstrapManifest chip_manifest();
// A digest as four scalars, eight bytes each in order (what the plugin's chip entries expect).
std::vector<uint64_t> digest_scalars(const Digest& digest);

// Adds one REMOTE_DEVICE / REMOTE_WINDOW argument: a 1-D view of `count` elements of `dtype`.
void add_remote_arg(wire::TaskPayload& task, const wire::RemoteTensorDescWire& desc, uint32_t count, DataType dtype);
wire::RemoteTensorDescWire device_desc(int32_t owner, uint64_t buffer_id, uint64_t generation, uint64_t offset,
                                       uint64_t nbytes);

// Names in /dev/shm that start with `prefix`.
std::vector<std::string> shm_objects(const std::string& prefix);

// A CONTROL_REPLY, owned (the wire view points into its frame).
struct ControlResult {
  wire::WireStatus status = wire::WireStatus::OK;
  std::string message;
  std::vector<uint8_t> result;
  uint64_t sequence = 0;
};

// A TASK for `digest` whose single tensor is HOST_INLINE `bytes`, plus the given scalars.
wire::TaskPayload inline_task(const Digest& digest, const std::vector<uint8_t>& bytes, std::vector<uint64_t> scalars);

// Live (non-zombie) processes whose parent is `pid`: the runner's inner chip and SUB children.
// True while `pid` exists and is not a zombie.

// How the harness starts a runner, beyond the manifest: what a daemon would pass it.
struct RunnerLaunchOptions {
  std::vector<std::string> plugin_dirs{ECHELON_SESSION_PLUGIN_DIR};
  std::vector<std::string> extra_env;  // NAME=value, e.g. ECHELON_TEST_FAULT=fail:PREPARE_CALLABLE
};

class RunnerSession {
 public:
  // Spawns the runner, reads its status (must be ok), connects the command lane and receives
  // HELLO, then connects the health lane and receives HEALTH 1. Fails the test (ADD_FAILURE +
  // throw) on any step.
  explicit RunnerSession(const remote::BootstrapManifest& manifest, const RunnerLaunchOptions& options = {});
  ~RunnerSession();

  const wire::HelloPayload& hello() const { return hello_; }
  uint64_t session_id() const { return session_id_; }
  const wire::FrameHeader& hello_header() const { return hello_header_; }
  int pid() const { return runner_.pid(); }
  // The runner's child processes seen when HELLO arrived.
  const std::vector<int>& children_at_hello() const { return children_at_hello_; }

  // Sends a TASK with the next sequence and waits (bounded) for its COMPLETION.
  wire::CompletionPayload run_task(const wire::TaskPayload& task, std::chrono::milliseconds timeout);
  uint64_t send_task(const wire::TaskPayload& task);
  wire::CompletionPayload await_completion(uint64_t sequence, std::chrono::milliseconds timeout);
  // Sends a CONTROL with the next sequence and waits (bounded) for its CONTROL_REPLY.
  ControlResult run_control(wire::ControlName name, const std::vector<uint8_t>& command,
                            std::chrono::milliseconds timeout, uint32_t version = 1);
  // Sends a CONTROL with the next sequence; returns the sequence without waiting.
  uint64_t send_control(wire::ControlName name, const std::vector<uint8_t>& command, uint32_t version = 1);
  // Waits (bounded) for the CONTROL_REPLY to `sequence`; throws TransportError on timeout.
  ControlResult await_control_reply(uint64_t sequence, wire::ControlName name, std::chrono::milliseconds timeout,
                                    uint32_t version = 1);
  // True when the command lane has bytes to read within `wait` (nothing is consumed), so a test
  // can watch a deadline pass without failing the lane the way a timed-out receive does.
  bool command_lane_readable(std::chrono::milliseconds wait);
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
  uint64_t session_id_ = 0;
  remote::RunnerProcess runner_;
  std::unique_ptr<transport::FrameChannel> command_;
  std::unique_ptr<transport::FrameChannel> health_;
  wire::HelloPayload hello_;
  wire::FrameHeader hello_header_;
  std::vector<int> children_at_hello_;
  uint64_t next_sequence_ = 1;
};

}  // namespace echelon::session_test
