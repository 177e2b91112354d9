// Parent-side state of one ordered command lane (protocol.md 11, 15.2): sequence numbering,
// how many requests may be outstanding, and which reply may come next. Transport-free: the owner
// encodes a request, asks the lane for its sequence, sends it, and hands every reply frame back.
#pragma once

#include <cstdint>
#include <deque>

#include "wire/completion.h"
#include "wire/control.h"
#include "wire/frame_header.h"

namespace echelon::wire {

enum class CommandKind { TASK, CONTROL, SHUTDOWN };
const char* to_string(CommandKind k);

struct InFlightCommand {
  uint64_t sequence = 0;
  CommandKind kind = CommandKind::TASK;
  ControlName control_name = ControlName::PREPARE_CALLABLE;  // CONTROL only
  uint32_t control_version = 0;                              // CONTROL only
};

class CommandLane {
 public:
  // 1 is the baseline single-flight lane; a larger window (granted under FEATURE_PIPELINED_TASKS)
  // lets TASKs, and only TASKs, overlap. Controls and SHUTDOWN still need an empty lane.
  explicit CommandLane(uint32_t max_tasks_in_flight = 1);

  uint64_t next_sequence() const { return next_sequence_; }
  size_t in_flight() const { return in_flight_.size(); }
  bool idle() const { return in_flight_.empty(); }
  // After SHUTDOWN, or after mark_failed(): nothing more may be sent or accepted.
  bool closed() const { return closed_; }
  bool can_send(CommandKind kind) const;

  // Each begin_* is called once the request's payload has been encoded and validated, so a
  // sequence is consumed only by a frame that is really sent. LANE_BUSY / LANE_CLOSED otherwise.
  uint64_t begin_task();
  AwaitedControl begin_control(ControlName name, uint32_t version);
  // SHUTDOWN takes the next sequence, expects no reply and closes the lane.
  uint64_t begin_shutdown();

  // The request the next reply must answer (the oldest outstanding one). NOT_IN_FLIGHT when idle.
  const InFlightCommand& awaited() const;

  // Decode a reply frame against the awaited request and retire it. Any mismatch (wrong type,
  // sequence, control name or version) closes the lane: a reply that cannot be paired means the
  // lane can no longer be trusted.
  CompletionPayload accept_completion(const FrameView& frame);
  ControlReply accept_control_reply(const FrameView& frame);

  // Marks the lane unusable, e.g. when a reply deadline passed after the request was sent.
  void mark_failed() { closed_ = true; }

 private:
  void require_open() const;
  uint64_t take_sequence(CommandKind kind, ControlName name, uint32_t version);
  const InFlightCommand& awaited_kind(CommandKind kind, FrameType type);

  uint32_t max_tasks_in_flight_;
  uint64_t next_sequence_ = 1;
  bool closed_ = false;
  std::deque<InFlightCommand> in_flight_;
};

// Runner-side view of the same lane: requests must arrive numbered previous + 1, starting at 1.
class InboundSequence {
 public:
  // SEQUENCE_MISMATCH on a gap, a replay or a sequence that goes backwards.
  void accept(uint64_t sequence);
  uint64_t last() const { return last_; }

 private:
  uint64_t last_ = 0;
};

}  // namespace echelon::wire
