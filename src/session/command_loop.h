// The runner's steady state (RT-906, protocol.md 11): one request at a time off the command lane,
// in sequence order. TASK -> COMPLETION, CONTROL -> typed CONTROL_REPLY (buffer-family controls
// served by the session's BufferRegistry, register-family ones by its callable registries, the
// reserved domain family UNSUPPORTED), SHUTDOWN -> end. TASKs and controls run on this one
// thread, so a registration is never applied under a running TASK. A frame
// for another session or worker, a wrong-direction frame, a sequence that is not previous + 1, or
// an undecodable envelope fails the session: after it the lane cannot be trusted (WIRE-5, -6, -24).
#pragma once
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include "echelon/worker.h"
#include "session/buffer_registry.h"
#include "session/fault_injection.h"
#include "session/health_lane.h"
#include "session/register_control_handler.h"
#include "session/task_dispatcher.h"
#include "transport/frame_channel.h"
#include "transport/inbound_frame.h"
#include "wire/command_lane.h"

namespace echelon::session {

enum class SessionEnd {
  SHUTDOWN,            // clean SHUTDOWN frame: exit 0
  PEER_CLOSED,         // command-lane EOF: same cleanup, non-zero exit (RT-907)
  PROTOCOL_VIOLATION,  // WIRE-5/6/24 or a malformed frame
  LANE_FAILED,         // transport error on the command lane
  HEALTH_FAILED,       // a HEALTH send failed: the parent is gone
};
const char* to_string(SessionEnd end);

struct SessionOutcome {
  SessionEnd end = SessionEnd::SHUTDOWN;
  std::string reason;
};

struct CommandLoopConfig {
  uint64_t session_id = 0;
  RunnerIdentity identity;
  std::chrono::nanoseconds reply_send_timeout{};  // bounds writing one reply (the health expiry)
};

class CommandLoop {
 public:
  CommandLoop(transport::FrameChannel& lane, const HealthLane& health, const TaskDispatcher& dispatcher,
              Worker& inner, BufferRegistry& buffers, RegisterControlHandler& registrations, FaultInjector& faults,
              CommandLoopConfig config)
      : lane_(lane),
        health_(health),
        dispatcher_(dispatcher),
        inner_(inner),
        buffers_(buffers),
        registrations_(registrations),
        faults_(faults),
        config_(std::move(config)) {}

  // Serves until the session ends; never throws.
  SessionOutcome run();

 private:
  // nullopt: keep serving.
  std::optional<SessionOutcome> handle(const transport::InboundFrame& frame);
  void answer_task(const transport::InboundFrame& frame);
  void answer_control(const transport::InboundFrame& frame);
  void send_reply(wire::FrameType type, uint64_t sequence, std::vector<uint8_t> payload);
  void wait_for_input();
  // COPY_TO_REMOTE data straight into shared memory (FrameChannel::set_tail_router): where the tail
  // of a frame goes once its first bytes show a COPY_TO_REMOTE v1 that will be accepted; an empty
  // span (anything else, or a refusal) lets the frame arrive whole and be answered as usual.
  std::span<uint8_t> route_copy_to(const wire::FrameHeader& header, std::span<const uint8_t> prefix) noexcept;
  void answer_routed_copy_to(const transport::InboundFrame& frame);
  FaultInjector::Decision fault_decision(uint64_t sequence, wire::ControlName name);

  transport::FrameChannel& lane_;
  const HealthLane& health_;
  const TaskDispatcher& dispatcher_;
  Worker& inner_;
  BufferRegistry& buffers_;
  RegisterControlHandler& registrations_;
  FaultInjector& faults_;
  CommandLoopConfig config_;
  wire::InboundSequence sequence_;
  // The fault hook's answer for a control it was asked about while the frame was still arriving.
  struct Predecided {
    uint64_t sequence = 0;
    FaultInjector::Decision decision = FaultInjector::Decision::NONE;
  };
  std::optional<Predecided> predecided_;
};

}  // namespace echelon::session
