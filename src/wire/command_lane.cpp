#include "wire/command_lane.h"

#include "fmt/format.h"
#include "wire/wire_error.h"

namespace echelon::wire {

const char* to_string(CommandKind k) {
  switch (k) {
    case CommandKind::TASK: return "TASK";
    case CommandKind::CONTROL: return "CONTROL";
    case CommandKind::SHUTDOWN: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

CommandLane::CommandLane(uint32_t max_tasks_in_flight) : max_tasks_in_flight_(max_tasks_in_flight) {
  if (max_tasks_in_flight < 1 || max_tasks_in_flight > 16)
    fail(WireErrc::INVALID_VALUE, "CommandLane.max_tasks_in_flight",
         fmt::format("window {} is outside 1..16", max_tasks_in_flight));
}

bool CommandLane::can_send(CommandKind kind) const {
  if (closed_) return false;
  if (kind != CommandKind::TASK) return in_flight_.empty();
  // A control in flight is a barrier; otherwise TASKs fill the window.
  if (!in_flight_.empty() && in_flight_.front().kind != CommandKind::TASK) return false;
  return in_flight_.size() < max_tasks_in_flight_;
}

void CommandLane::require_open() const {
  if (closed_) fail(WireErrc::LANE_CLOSED, "CommandLane", "the lane was shut down or failed");
}

uint64_t CommandLane::take_sequence(CommandKind kind, ControlName name, uint32_t version) {
  require_open();
  if (!can_send(kind)) {
    const InFlightCommand& head = in_flight_.front();
    fail(WireErrc::LANE_BUSY, "CommandLane",
         fmt::format("cannot send {}: {} request(s) in flight, oldest {} seq {}", to_string(kind), in_flight_.size(),
                     to_string(head.kind), head.sequence));
  }
  const uint64_t seq = next_sequence_++;
  if (kind != CommandKind::SHUTDOWN) in_flight_.push_back({seq, kind, name, version});
  return seq;
}

uint64_t CommandLane::begin_task() { return take_sequence(CommandKind::TASK, ControlName::PREPARE_CALLABLE, 0); }

AwaitedControl CommandLane::begin_control(ControlName name, uint32_t version) {
  return {take_sequence(CommandKind::CONTROL, name, version), name, version};
}

uint64_t CommandLane::begin_shutdown() {
  const uint64_t seq = take_sequence(CommandKind::SHUTDOWN, ControlName::PREPARE_CALLABLE, 0);
  closed_ = true;
  return seq;
}

const InFlightCommand& CommandLane::awaited() const {
  if (in_flight_.empty()) fail(WireErrc::NOT_IN_FLIGHT, "CommandLane", "no request is awaiting a reply");
  return in_flight_.front();
}

const InFlightCommand& CommandLane::awaited_kind(CommandKind kind, FrameType type) {
  require_open();
  const InFlightCommand& head = awaited();
  if (head.kind != kind) {
    closed_ = true;
    fail(WireErrc::NOT_IN_FLIGHT, "FrameHeader.frame_type",
         fmt::format("{} received while {} seq {} awaits its reply", to_string(type), to_string(head.kind),
                     head.sequence));
  }
  return head;
}

CompletionPayload CommandLane::accept_completion(const FrameView& frame) {
  const InFlightCommand& head = awaited_kind(CommandKind::TASK, frame.header.type);
  try {
    CompletionPayload c = decode_completion(frame, head.sequence);
    in_flight_.pop_front();
    return c;
  } catch (const WireError&) {
    closed_ = true;
    throw;
  }
}

ControlReply CommandLane::accept_control_reply(const FrameView& frame) {
  const InFlightCommand& head = awaited_kind(CommandKind::CONTROL, frame.header.type);
  try {
    ControlReply r = decode_control_reply(frame, {head.sequence, head.control_name, head.control_version});
    in_flight_.pop_front();
    return r;
  } catch (const WireError&) {
    closed_ = true;
    throw;
  }
}

void InboundSequence::accept(uint64_t sequence) {
  if (sequence != last_ + 1)
    fail(WireErrc::SEQUENCE_MISMATCH, "FrameHeader.sequence",
         fmt::format("request sequence {} is not the expected {}", sequence, last_ + 1));
  last_ = sequence;
}

}  // namespace echelon::wire
