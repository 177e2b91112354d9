// Ordered command lane (protocol.md 11, 15.2; WIRE-24/33).
#include "wire/command_lane.h"
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

Bytes completion(uint64_t seq) {
  return encode_frame(FrameType::COMPLETION, {1, 0, seq, 0}, encode_completion({seq, 0, ""}));
}

Bytes reply(uint64_t seq, ControlName name, uint32_t version) {
  return encode_frame(FrameType::CONTROL_REPLY, {1, 0, seq, 0},
                      encode_control_reply({seq, name, version, 0, "", {}}));
}

TEST(CommandLane, IsSingleFlight) {
  CommandLane lane;
  EXPECT_EQ(lane.next_sequence(), 1u);
  EXPECT_EQ(lane.begin_task(), 1u);
  EXPECT_FALSE(lane.can_send(CommandKind::TASK));
  EXPECT_WIRE_ERROR(lane.begin_task(), WireErrc::LANE_BUSY, "CommandLane");
  EXPECT_WIRE_ERROR(lane.begin_control(ControlName::ALLOC_REMOTE_BUFFER, 1), WireErrc::LANE_BUSY, "CommandLane");
  EXPECT_EQ(lane.next_sequence(), 2u);  // a refused begin consumes nothing
  const Bytes right = completion(1);
  EXPECT_EQ(lane.accept_completion(decode_frame(right)).sequence, 1u);
  EXPECT_TRUE(lane.idle());
  const AwaitedControl c = lane.begin_control(ControlName::FREE_REMOTE_BUFFER, 1);
  EXPECT_EQ(c.sequence, 2u);
  const Bytes r = reply(2, ControlName::FREE_REMOTE_BUFFER, 1);
  EXPECT_EQ(lane.accept_control_reply(decode_frame(r)).sequence, 2u);
  EXPECT_EQ(lane.begin_task(), 3u);
}

TEST(CommandLane, WrongFinishFailsTheLane) {
  CommandLane lane;
  lane.begin_task();
  const Bytes wrong = completion(2);
  EXPECT_WIRE_ERROR(lane.accept_completion(decode_frame(wrong)), WireErrc::SEQUENCE_MISMATCH, "sequence");
  EXPECT_TRUE(lane.closed());
  EXPECT_WIRE_ERROR(lane.begin_task(), WireErrc::LANE_CLOSED, "CommandLane");
}

TEST(CommandLane, ReplyForNothingAwaitedRejected) {
  CommandLane lane;
  const Bytes stray = completion(1);
  EXPECT_WIRE_ERROR(lane.accept_completion(decode_frame(stray)), WireErrc::NOT_IN_FLIGHT, "CommandLane");
  CommandLane busy;
  busy.begin_control(ControlName::ALLOC_REMOTE_BUFFER, 1);
  EXPECT_WIRE_ERROR(busy.accept_completion(decode_frame(stray)), WireErrc::NOT_IN_FLIGHT, "frame_type");
  EXPECT_TRUE(busy.closed());
}

TEST(CommandLane, ControlReplyMustNameTheRequest) {
  CommandLane lane;
  lane.begin_control(ControlName::EXPORT_BUFFER, 1);
  const Bytes other = reply(1, ControlName::IMPORT_BUFFER, 1);
  EXPECT_WIRE_ERROR(lane.accept_control_reply(decode_frame(other)), WireErrc::CONTROL_MISMATCH, "control_name");
  EXPECT_TRUE(lane.closed());
}

TEST(CommandLane, ShutdownTakesASequenceAndCloses) {
  CommandLane lane;
  lane.begin_task();
  EXPECT_WIRE_ERROR(lane.begin_shutdown(), WireErrc::LANE_BUSY, "CommandLane");
  lane.accept_completion(decode_frame(completion(1)));
  EXPECT_EQ(lane.begin_shutdown(), 2u);
  EXPECT_TRUE(lane.closed());
  EXPECT_WIRE_ERROR(lane.begin_task(), WireErrc::LANE_CLOSED, "CommandLane");
}

TEST(CommandLane, MarkFailedAfterDeadline) {
  CommandLane lane;
  lane.begin_task();
  lane.mark_failed();
  EXPECT_WIRE_ERROR(lane.accept_completion(decode_frame(completion(1))), WireErrc::LANE_CLOSED, "CommandLane");
}

TEST(CommandWindow, BoundsOutstandingTasks) {
  CommandLane lane(3);
  EXPECT_EQ(lane.begin_task(), 1u);
  EXPECT_EQ(lane.begin_task(), 2u);
  EXPECT_EQ(lane.begin_task(), 3u);
  EXPECT_WIRE_ERROR(lane.begin_task(), WireErrc::LANE_BUSY, "CommandLane");
  lane.accept_completion(decode_frame(completion(1)));
  EXPECT_EQ(lane.begin_task(), 4u);
  EXPECT_EQ(lane.in_flight(), 3u);
  EXPECT_WIRE_ERROR(CommandLane(17), WireErrc::INVALID_VALUE, "max_tasks_in_flight");
}

TEST(CommandWindow, OutOfOrderCompletionRejected) {
  CommandLane lane(2);
  lane.begin_task();
  lane.begin_task();
  EXPECT_WIRE_ERROR(lane.accept_completion(decode_frame(completion(2))), WireErrc::SEQUENCE_MISMATCH, "sequence");
}

TEST(CommandWindow, ControlWaitsForEmptyWindow) {
  CommandLane lane(4);
  lane.begin_task();
  EXPECT_FALSE(lane.can_send(CommandKind::CONTROL));
  EXPECT_WIRE_ERROR(lane.begin_control(ControlName::ALLOC_REMOTE_BUFFER, 1), WireErrc::LANE_BUSY, "CommandLane");
  lane.accept_completion(decode_frame(completion(1)));
  lane.begin_control(ControlName::ALLOC_REMOTE_BUFFER, 1);
  // A control in flight is a barrier for tasks too.
  EXPECT_FALSE(lane.can_send(CommandKind::TASK));
  EXPECT_WIRE_ERROR(lane.begin_task(), WireErrc::LANE_BUSY, "CommandLane");
}

TEST(InboundSequence, RequiresPreviousPlusOne) {
  InboundSequence in;
  EXPECT_WIRE_ERROR(in.accept(0), WireErrc::SEQUENCE_MISMATCH, "sequence");
  in.accept(1);
  in.accept(2);
  EXPECT_WIRE_ERROR(in.accept(2), WireErrc::SEQUENCE_MISMATCH, "sequence");  // replay
  EXPECT_WIRE_ERROR(in.accept(4), WireErrc::SEQUENCE_MISMATCH, "sequence");  // gap
  in.accept(3);
  EXPECT_EQ(in.last(), 3u);
}

}  // namespace
}  // namespace echelon::wire::test
