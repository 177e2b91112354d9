// The epoll reactor: wakes on readable fds and on wake(), and does not spin while idle.
#include <atomic>
#include <thread>

#include "transport/frame_stream.h"
#include "transport/reactor.h"
#include "transport_test_support.h"

namespace echelon::transport::test {
namespace {

using ReactorTest = TransportTest;

TEST_F(ReactorTest, WakeFromAnotherThreadEndsTheWaitPromptly) {
  Reactor reactor;
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);  // test pacing only: let run_once start waiting first
    reactor.wake();
  });
  Reactor::Turn turn;
  const double ms = elapsed_ms([&] { turn = reactor.run_once(5000ms); });
  waker.join();
  EXPECT_TRUE(turn.woken);
  EXPECT_EQ(turn.handled, 0u);
  EXPECT_LT(ms, 1000);
  // The wake-up was consumed: the next turn waits again.
  EXPECT_FALSE(reactor.run_once(0ms).woken);
}

TEST_F(ReactorTest, WakeBeforeRunIsNotLost) {
  Reactor reactor;
  reactor.wake();
  reactor.wake();
  EXPECT_TRUE(reactor.run_once(1000ms).woken);
  EXPECT_FALSE(reactor.run_once(0ms).woken);
}

TEST_F(ReactorTest, ReadableSocketRunsItsHandler) {
  Reactor reactor;
  auto [a, b] = connected_pair();
  FrameStream stream(std::move(b));
  int frames = 0;
  reactor.add(stream.fd(), Reactor::READABLE, [&](uint32_t) {
    while (stream.poll_frame()) ++frames;
  });
  a.write_all(make_frame(wire::FrameType::HEALTH, 1), deadline_in(1s));
  a.write_all(make_frame(wire::FrameType::HEALTH, 2), deadline_in(1s));
  const auto deadline = deadline_in(2s);
  while (frames < 2 && Clock::now() < deadline) reactor.run_once(500ms);
  EXPECT_EQ(frames, 2);
  reactor.remove(stream.fd());
  EXPECT_FALSE(reactor.contains(stream.fd()));
}

TEST_F(ReactorTest, IdleLoopDoesNotSpin) {
  Reactor reactor;
  auto [a, b] = connected_pair();  // registered but silent
  reactor.add(b.fd(), Reactor::READABLE, [](uint32_t) {});
  int iterations = 0;
  const auto end = deadline_in(300ms);
  while (Clock::now() < end) {
    reactor.run_once(std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()));
    ++iterations;
  }
  EXPECT_LE(iterations, 3) << "the reactor spun while nothing happened";
  reactor.remove(b.fd());
}

TEST_F(ReactorTest, HandlerMayRemoveAnotherRegistrationOfTheSameBatch) {
  Reactor reactor;
  auto [a1, b1] = connected_pair();
  auto [a2, b2] = connected_pair();
  const Bytes byte = {1};
  a1.write_all(byte, deadline_in(1s));
  a2.write_all(byte, deadline_in(1s));
  b1.wait_readable(deadline_in(1s));
  b2.wait_readable(deadline_in(1s));
  int calls = 0;
  // Whichever handler runs first removes both registrations; the other must not run.
  auto remove_both = [&](uint32_t) {
    ++calls;
    reactor.remove(b1.fd());
    reactor.remove(b2.fd());
  };
  reactor.add(b1.fd(), Reactor::READABLE, remove_both);
  reactor.add(b2.fd(), Reactor::READABLE, remove_both);
  EXPECT_EQ(reactor.run_once(1000ms).handled, 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(reactor.size(), 0u);
}

TEST_F(ReactorTest, WritableInterestFollowsQueuedOutput) {
  Reactor reactor;
  auto [a, b] = connected_pair();
  int writable = 0;
  reactor.add(a.fd(), Reactor::READABLE, [&](uint32_t events) {
    if (events & Reactor::WRITABLE) ++writable;
  });
  EXPECT_EQ(reactor.run_once(0ms).handled, 0u);
  reactor.modify(a.fd(), Reactor::READABLE | Reactor::WRITABLE);
  EXPECT_EQ(reactor.run_once(1000ms).handled, 1u);
  EXPECT_EQ(writable, 1);
  reactor.remove(a.fd());
}

TEST_F(ReactorTest, DuplicateRegistrationIsRefused) {
  Reactor reactor;
  auto [a, b] = connected_pair();
  reactor.add(a.fd(), Reactor::READABLE, [](uint32_t) {});
  EXPECT_THROW(reactor.add(a.fd(), Reactor::READABLE, [](uint32_t) {}), TransportError);
  reactor.remove(a.fd());
}

}  // namespace
}  // namespace echelon::transport::test
