// UCX lanes as FrameChannels (buffers.md 9.3): two real processes over loopback TCP (forked before
// any UCX object), frames both ways incl. rendezvous, reordering, duplicate / gap / stale / repeated
// sequences, malformed frames, a killed peer, idle CPU, and lanes over shared memory only.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include <thread>

#include "transport/ucx_lane.h"
#include "ucx_test_support.h"
#include "wire/frame_header.h"
#include "wire/wire_error.h"

namespace echelon::transport {
namespace {

using namespace std::chrono_literals;
using ucx_test::Link;
using ucx_test::Side;
using ucx_test::process_cpu_ms;
using wire::FrameType;

constexpr const char* kTls = "tcp,self";

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 12));
  return v;
}

std::vector<uint8_t> frame(FrameType type, uint64_t seq, std::span<const uint8_t> payload) {
  return wire::encode_frame(type, wire::FrameRoute{7, 3, seq, 0}, payload);
}
std::vector<uint8_t> header_of(const std::vector<uint8_t>& f) { return {f.begin(), f.begin() + 40}; }
std::vector<uint8_t> payload_of(const std::vector<uint8_t>& f) { return {f.begin() + 40, f.end()}; }

ucx::LaneOptions options(ucx::LaneKind kind, ucx::LaneSide side, const char* name, uint64_t first = 1,
                         bool owner_driven = false) {
  ucx::LaneOptions o;
  o.kind = kind;
  o.side = side;
  o.name = name;
  o.first_sequence = first;
  o.reorder_window = 8;
  o.owner_driven = owner_driven;
  return o;
}

// Creates the lane, swaps worker addresses over `link` and connects.
std::unique_ptr<UcxLaneChannel> open_lane(const Link& link, const ucx::LaneOptions& o) {
  auto ch = UcxLaneChannel::create(ucx_test::module(), o);
  link.send(ch->worker_address());
  ch->connect(link.receive(), deadline_in(20s));
  return ch;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// The owner's loop as a reactor runs it: poll(), and sleep on wait_fd() after prepare_wait(), until
// a frame comes (returned) or the deadline passes (a failed check naming `what`). Wake-ups for
// UCX's own traffic make poll() return nothing and the loop sleep again.
InboundFrame poll_as_reactor(FrameChannel& ch, const std::string& what) {
  const Deadline end = deadline_in(20s);
  for (;;) {
    if (std::optional<InboundFrame> got = ch.poll()) return std::move(*got);
    UCX_CHECK(Clock::now() < end, what + " never woke the owner");
    if (ch.prepare_wait()) UCX_CHECK(readable(ch.wait_fd(), poll_timeout_ms(end)), "wait_fd() woke for " + what);
  }
}

// Expects receive() to throw `code` with `needle` in the text; returns the text.
std::string expect_failure(FrameChannel& ch, TransportErrc code, const std::string& needle) {
  try {
    InboundFrame f = ch.receive(deadline_in(20s));
    UCX_CHECK(false, "received sequence " + std::to_string(f.header.sequence) + " instead of failing");
  } catch (const TransportError& e) {
    const std::string text = e.what();
    UCX_CHECK(e.code() == code, text);
    UCX_CHECK(text.find(needle) != std::string::npos, "'" + needle + "' not in: " + text);
    UCX_CHECK(ch.failed(), "failure() after the throw");
    UCX_CHECK(readable(ch.wait_fd(), 0), "wait_fd readable once failed");
    return text;
  }
  return "";
}

// The parent sends a small TASK and an 8 MiB CONTROL (rendezvous); the runner answers each with the
// echoed payload under the same sequence. The parent waits on wait_fd() like a Reactor would.
// Both ways of progressing a lane: its own progress thread, and the owner thread (owner_driven).
TEST(UcxLane, FramesRoundTripBothWaysIncludingRendezvous) {
  SKIP_WITHOUT_UCX();
  for (const bool owner : {false, true}) {
  SCOPED_TRACE(owner ? "owner-driven" : "progress thread");
  auto [parent_link, runner_link] = ucx_test::make_links();
  const std::vector<size_t> sizes = {100, 8u << 20, 0};
  Side runner(kTls, [&, &link = runner_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command", 1, owner));
    UCX_CHECK(std::string(ch->profile()) == "ucx", "profile");
    for (size_t i = 0; i < sizes.size(); ++i) {
      InboundFrame f = ch->receive(deadline_in(20s));
      UCX_CHECK(f.header.sequence == i + 1, "sequence " + std::to_string(f.header.sequence));
      UCX_CHECK(f.header.payload_bytes == sizes[i], "size");
      UCX_CHECK(std::vector<uint8_t>(f.payload().begin(), f.payload().end()) == pattern(sizes[i], 5), "payload");
      ch->send(frame(FrameType::CONTROL_REPLY, i + 1, f.payload()), deadline_in(20s));
    }
    // Every send completed; stay until the parent is done with its lane (its exit fails ours).
    link.send_u64(1);
    link.receive_u64();
  });
  Side parent(kTls, [&, &link = parent_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command", 1, owner));
    for (size_t i = 0; i < sizes.size(); ++i) {
      ch->post(frame(FrameType::CONTROL, i + 1, pattern(sizes[i], 5)));
      const std::optional<InboundFrame> got = poll_as_reactor(*ch, "the reply");
      UCX_CHECK(got->header.type == FrameType::CONTROL_REPLY && got->header.sequence == i + 1, "reply header");
      UCX_CHECK(std::vector<uint8_t>(got->payload().begin(), got->payload().end()) == pattern(sizes[i], 5),
                "reply payload of " + std::to_string(sizes[i]) + " bytes");
      // Owner-driven, wait_fd() may also wake for UCX's own traffic (then poll() just returns nullopt).
      if (!owner) UCX_CHECK(!readable(ch->wait_fd(), 0), "wait_fd drained once poll() returned everything");
    }
    UCX_CHECK(ch->flush(), "nothing left queued");
    UCX_CHECK(!ch->failed(), "healthy");
    // A frame the codec rejects throws WireError and leaves the lane as it was.
    std::vector<uint8_t> bad = frame(FrameType::TASK, 9, pattern(4, 1));
    bad[0] = 'X';
    bool threw = false;
    try {
      ch->post(bad);
    } catch (const wire::WireError&) {
      threw = true;
    }
    UCX_CHECK(threw && !ch->failed(), "a bad outbound frame is refused without failing the lane");
    link.receive_u64();
    link.send_u64(1);
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
  }
}

// Sequence 2 is sent before 1: the runner sees 1, 2. A second 2 then fails the lane (duplicate).
TEST(UcxLane, CommandLaneReordersAndFailsOnDuplicate) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  Side runner(kTls, [&, &link = runner_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command"));
    for (uint64_t seq : {1, 2}) {
      InboundFrame f = ch->receive(deadline_in(20s));
      UCX_CHECK(f.header.sequence == seq, "got " + std::to_string(f.header.sequence));
    }
    link.send_u64(1);
    expect_failure(*ch, TransportErrc::MALFORMED_FRAME, "duplicate TASK sequence 2");
    link.send_u64(2);
  });
  Side parent(kTls, [&, &link = parent_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command"));
    const auto f1 = frame(FrameType::TASK, 1, pattern(64, 1));
    const auto f2 = frame(FrameType::TASK, 2, pattern(64, 2));
    ch->lane().post_raw_for_test(ucx::kAmCommandToRunner, header_of(f2), payload_of(f2));
    ch->lane().post_raw_for_test(ucx::kAmCommandToRunner, header_of(f1), payload_of(f1));
    link.receive_u64();  // the runner has 1 and 2
    ch->lane().post_raw_for_test(ucx::kAmCommandToRunner, header_of(f2), payload_of(f2));
    link.receive_u64();
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
}

// A frame further ahead than the reorder window fails the lane (gap).
TEST(UcxLane, CommandLaneFailsOnGapBeyondTheWindow) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  Side runner(kTls, [&, &link = runner_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command"));
    link.send_u64(0);  // connected (a failure before would make connect() throw it)
    expect_failure(*ch, TransportErrc::MALFORMED_FRAME, "sequence gap");
    link.send_u64(1);
  });
  Side parent(kTls, [&, &link = parent_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command"));
    link.receive_u64();
    ch->post(frame(FrameType::TASK, 1 + 8, pattern(8, 1)));  // window 8: 9 is too far ahead of 1
    link.receive_u64();
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
}

// Health: 1, 3, then 2 (stale: dropped), then 4; then 3 again fails the lane (WIRE-22).
TEST(UcxLane, HealthLaneDropsStaleAndFailsOnRepeatedSequence) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  Side runner(kTls, [&, &link = runner_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::HEALTH, ucx::LaneSide::RUNNER, "runner-health"));
    for (uint64_t seq : {1, 3, 2, 4}) ch->send(frame(FrameType::HEALTH, seq, {}), deadline_in(20s));
    link.receive_u64();
    ch->send(frame(FrameType::HEALTH, 3, {}), deadline_in(20s));
    link.send_u64(3);  // sent: the parent may go now
    link.receive_u64();
  });
  Side parent(kTls, [&, &link = parent_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::HEALTH, ucx::LaneSide::PARENT, "parent-health"));
    for (uint64_t seq : {1, 3, 4}) {
      InboundFrame f = ch->receive(deadline_in(20s));
      UCX_CHECK(f.header.type == FrameType::HEALTH && f.header.sequence == seq,
                "expected " + std::to_string(seq) + ", got " + std::to_string(f.header.sequence));
    }
    link.send_u64(1);
    link.receive_u64();
    expect_failure(*ch, TransportErrc::MALFORMED_FRAME, "repeated health sequence 3");
    link.send_u64(2);
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
}

// A header the wire codec rejects (bad magic) fails a command lane; AM data whose length differs
// from payload_bytes fails a health lane. Both name the cause.
TEST(UcxLane, MalformedHeaderOrLengthMismatchFailsTheLane) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  Side runner(kTls, [&, &link = runner_link] {
    auto cmd = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command"));
    auto health = open_lane(link, options(ucx::LaneKind::HEALTH, ucx::LaneSide::RUNNER, "runner-health"));
    link.send_u64(0);  // both lanes connected
    expect_failure(*cmd, TransportErrc::MALFORMED_FRAME, "magic");
    expect_failure(*health, TransportErrc::MALFORMED_FRAME, "payload_bytes 0 but its AM data has 8 bytes");
    link.send_u64(1);
  });
  Side parent(kTls, [&, &link = parent_link] {
    auto cmd = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command"));
    auto health = open_lane(link, options(ucx::LaneKind::HEALTH, ucx::LaneSide::PARENT, "parent-health"));
    link.receive_u64();
    auto bad = frame(FrameType::TASK, 1, pattern(16, 1));
    bad[1] = 0;
    cmd->lane().post_raw_for_test(ucx::kAmCommandToRunner, header_of(bad), payload_of(bad));
    auto h = frame(FrameType::HEALTH, 1, {});
    health->lane().post_raw_for_test(ucx::kAmHealth, h, pattern(8, 1));
    link.receive_u64();
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
}

// The runner's process is killed while the parent is blocked in receive(): it throws PEER_CLOSED
// within a bounded time, and wait_fd is readable.
TEST(UcxLane, PeerKilledFailsABlockedReceive) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  Side victim(kTls, [&, &link = runner_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command"));
    ch->send(frame(FrameType::COMPLETION, 1, pattern(8, 1)), deadline_in(20s));
    std::this_thread::sleep_for(60s);  // until killed
  });
  const pid_t victim_pid = victim.pid();
  Side parent(kTls, [&, &link = parent_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command"));
    ch->receive(deadline_in(20s));
    std::thread killer([&] {
      std::this_thread::sleep_for(200ms);
      ::kill(victim_pid, SIGKILL);
    });
    const auto t0 = Clock::now();
    const std::string text = expect_failure(*ch, TransportErrc::PEER_CLOSED, "peer failed");
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    killer.join();
    std::fprintf(stderr, "blocked receive failed %.3f s after it began (kill at 0.2 s): %s\n", took, text.c_str());
    UCX_CHECK(took < 15, "failure took " + std::to_string(took) + " s");
    bool threw = false;
    try {
      ch->send(frame(FrameType::TASK, 2, {}), deadline_in(5s));
    } catch (const TransportError& e) {
      threw = e.code() == TransportErrc::PEER_CLOSED;
    }
    UCX_CHECK(threw, "send on a failed lane throws its failure");
  });
  EXPECT_EQ(parent.result(), "");
  (void)victim.result();  // killed, as intended
}

// A connected, idle lane (progress thread asleep on the worker's event fd) uses ~no CPU; a frame
// then still arrives promptly.
TEST(UcxLane, IdleLaneUsesNoCpu) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  Side runner(kTls, [&, &link = runner_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command"));
    link.receive_u64();
    ch->send(frame(FrameType::COMPLETION, 1, pattern(8, 1)), deadline_in(20s));
    link.send_u64(1);
    link.receive_u64();
  });
  Side parent(kTls, [&, &link = parent_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command"));
    std::this_thread::sleep_for(100ms);  // wire-up settles
    const double cpu0 = process_cpu_ms();
    UCX_CHECK(!readable(ch->wait_fd(), 400), "nothing arrives while idle");
    const double cpu = process_cpu_ms() - cpu0;
    std::fprintf(stderr, "idle lane: %.2f ms CPU over 400 ms\n", cpu);
    UCX_CHECK(cpu < 80, "idle lane used " + std::to_string(cpu) + " ms CPU in 400 ms");
    link.send_u64(1);
    InboundFrame f = ch->receive(deadline_in(20s));
    UCX_CHECK(f.header.sequence == 1, "frame after idling");
    link.receive_u64();
    link.send_u64(2);
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
}

// An owner-driven lane whose owner sleeps on wait_fd() like a reactor (prepare_wait() before each
// sleep, poll() on every wake-up) uses ~no CPU while idle: no wake-up spins.
TEST(UcxLane, IdleOwnerDrivenLaneUsesNoCpu) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  Side runner(kTls, [&, &link = runner_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command", 1, true));
    link.receive_u64();
    ch->send(frame(FrameType::COMPLETION, 1, pattern(8, 1)), deadline_in(20s));
    link.receive_u64();
  });
  Side parent(kTls, [&, &link = parent_link] {
    auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command", 1, true));
    std::this_thread::sleep_for(100ms);  // wire-up settles
    const double cpu0 = process_cpu_ms();
    const Deadline idle_end = deadline_in(400ms);
    int wakeups = 0;
    while (Clock::now() < idle_end) {
      UCX_CHECK(!ch->poll(), "nothing arrives while idle");
      if (!ch->prepare_wait() || readable(ch->wait_fd(), poll_timeout_ms(idle_end))) ++wakeups;
    }
    const double cpu = process_cpu_ms() - cpu0;
    std::fprintf(stderr, "idle owner-driven lane: %.2f ms CPU, %d wake-ups over 400 ms\n", cpu, wakeups);
    UCX_CHECK(cpu < 80, "idle lane used " + std::to_string(cpu) + " ms CPU in 400 ms");
    link.send_u64(1);
    InboundFrame f = ch->receive(deadline_in(20s));
    UCX_CHECK(f.header.sequence == 1, "frame after idling");
    link.send_u64(2);
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
}

// The owner-driven contract around a sleep: post() and poll() do not arm the worker, prepare_wait()
// does. A frame that arrives at an armed worker makes wait_fd() readable; a frame that a call took
// out of UCX meanwhile is reported by prepare_wait() (false, wait_fd() readable at once) instead
// of being slept on (tcp: over shared memory UCX 1.13 completes the peer's send only as this side
// progresses, so no frame is left sitting); once armed again, the next frame wakes wait_fd(). Both
// transports for the wake-ups: over shared memory the peer signals only an armed worker.
TEST(UcxLane, PrepareWaitReportsAFrameAlreadyInAndArmsForTheNext) {
  SKIP_WITHOUT_UCX();
  for (const char* tls : {"tcp,self", "posix,self"}) {
    SCOPED_TRACE(tls);
    const bool shm = std::string(tls) == "posix,self";
    auto [parent_link, runner_link] = ucx_test::make_links();
    Side runner(tls, [&, &link = runner_link] {
      auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command", 1, true));
      // A round trip first: both endpoints are wired up, so a small send completes at once without
      // the parent's help.
      UCX_CHECK(ch->receive(deadline_in(20s)).header.sequence == 1, "the parent's first frame");
      ch->send(frame(FrameType::COMPLETION, 1, pattern(8, 1)), deadline_in(20s));
      for (uint64_t seq = 2; seq <= 3; ++seq) {
        link.receive_u64();
        ch->send(frame(FrameType::COMPLETION, seq, pattern(64, static_cast<uint8_t>(seq))), deadline_in(20s));
        link.send_u64(seq);
      }
      UCX_CHECK(ch->receive(deadline_in(20s)).header.sequence == 2, "the parent's second frame");
      link.receive_u64();
    });
    Side parent(tls, [&, &link = parent_link] {
      auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command", 1, true));
      ch->send(frame(FrameType::TASK, 1, pattern(8, 1)), deadline_in(20s));
      UCX_CHECK(ch->receive(deadline_in(20s)).header.sequence == 1, "the warm-up reply");
      UCX_CHECK(!ch->poll(), "nothing yet");
      UCX_CHECK(ch->prepare_wait(), "an idle lane may sleep");
      link.send_u64(2);
      std::optional<InboundFrame> got;
      if (!shm) {
        link.receive_u64();                    // frame 2 is sent: it sits in UCX, nobody progressed it
        std::this_thread::sleep_for(50ms);
        UCX_CHECK(readable(ch->wait_fd(), 0), "the armed worker's wait_fd() is readable for frame 2");
        // post() progresses the worker and takes frame 2 in (or settle does): it is not in UCX any
        // more, so only prepare_wait()'s answer and the frame signal keep the owner from sleeping on
        // it.
        ch->post(frame(FrameType::TASK, 2, pattern(8, 2)));
        UCX_CHECK(!ch->prepare_wait(), "prepare_wait() reports the frame taken in instead of sleeping on it");
        UCX_CHECK(readable(ch->wait_fd(), 0), "and leaves wait_fd() readable");
        got = ch->poll();
      } else {
        // Over shared memory the runner's send completes only as this side progresses (UCX 1.13), so
        // frame 2 cannot be left sitting in UCX: the owner's loop as a reactor runs it.
        got = poll_as_reactor(*ch, "frame 2");
        link.receive_u64();
        ch->post(frame(FrameType::TASK, 2, pattern(8, 2)));
      }
      UCX_CHECK(got && got->header.sequence == 2, "poll() returns frame 2");
      UCX_CHECK(ch->prepare_wait(), "nothing left: the lane may sleep");
      link.send_u64(3);
      got = poll_as_reactor(*ch, "frame 3");
      UCX_CHECK(got->header.sequence == 3 && got->payload().size() == 64, "frame 3");
      link.receive_u64();
      link.send_u64(4);
    });
    EXPECT_EQ(parent.result(), "");
    EXPECT_EQ(runner.result(), "");
  }
}

// With only shared memory in UCX_TLS (no peer failure detection on UCX 1.13) a lane still connects
// and carries frames, without peer error handling (over tcp it has it), and the peer's close()
// still fails the lane PEER_CLOSED, through the close notice. Neither transport does RMA itself, so
// only the shared-memory lane is a safe RMA target (its emulation cannot fail mid-operation).
TEST(UcxLane, SharedMemoryOnlyLanesRunWithoutPeerErrorHandling) {
  SKIP_WITHOUT_UCX();
  for (const char* tls : {"posix,self", "tcp,self"}) {
    SCOPED_TRACE(tls);
    const bool shm_only = std::string(tls) == "posix,self";
    auto [a_link, b_link] = ucx_test::make_links();
    Side runner(tls, [&, &link = a_link] {
      auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::RUNNER, "runner-command"));
      UCX_CHECK(ch->detects_peer_failure() == !shm_only, "peer error handling on the runner's lane");
      InboundFrame f = ch->receive(deadline_in(20s));
      ch->send(frame(FrameType::CONTROL_REPLY, f.header.sequence, f.payload()), deadline_in(20s));
      link.receive_u64();  // the parent has the reply
      ch->close();  // its close notice reaches the parent even without peer error handling
      link.receive_u64();
    });
    Side parent(tls, [&, &link = b_link] {
      auto ch = open_lane(link, options(ucx::LaneKind::COMMAND, ucx::LaneSide::PARENT, "parent-command"));
      UCX_CHECK(ch->detects_peer_failure() == !shm_only, "peer error handling on the parent's lane");
      UCX_CHECK(!ch->lane().offloads_rma(), "loopback tcp and posix emulate RMA");
      UCX_CHECK(ch->safe_rma_target() == shm_only, "safe RMA target only without peer failure detection");
      ch->send(frame(FrameType::CONTROL, 1, pattern(300, 9)), deadline_in(20s));
      InboundFrame f = ch->receive(deadline_in(20s));
      UCX_CHECK(f.header.type == FrameType::CONTROL_REPLY && f.header.sequence == 1, "reply header");
      UCX_CHECK(std::vector<uint8_t>(f.payload().begin(), f.payload().end()) == pattern(300, 9), "reply payload");
      link.send_u64(1);
      expect_failure(*ch, TransportErrc::PEER_CLOSED, shm_only ? "the peer closed the lane" : "peer");
      link.send_u64(1);
    });
    EXPECT_EQ(parent.result(), "");
    EXPECT_EQ(runner.result(), "");
  }
}

}  // namespace
}  // namespace echelon::transport
