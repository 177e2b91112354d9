// The UCX module through its loader: two real processes over loopback (forked before any UCX
// object exists), active messages incl. rendezvous, put/get/flush visibility, event-fd waiting,
// peer failure, and the loader's error when the module is missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdlib>
#include <numeric>
#include <thread>

#include "ucx_test_support.h"

namespace echelon::transport {
namespace {

using namespace std::chrono_literals;
using ucx_test::Link;
using ucx_test::Side;
using ucx_test::process_cpu_ms;

constexpr uint16_t kToRunner = 1;  // buffers.md 9.3 AM ids
constexpr uint16_t kToParent = 2;
constexpr size_t kHeader = 40;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 12));
  return v;
}

ucx::AmFilter frame_filter() {
  // What the command lane will do with WIRE-3: refuse by header and length before allocating.
  return [](std::span<const uint8_t> header, size_t data_bytes) {
    return header.size() == kHeader && data_bytes <= (64u << 20);
  };
}

ucx::ReceivedAm receive_one(ucx::Worker& worker, std::chrono::milliseconds timeout) {
  std::optional<ucx::ReceivedAm> got;
  ucx_test::progress_until(worker, [&] { return (got = worker.next_am()).has_value(); }, timeout, "receive AM");
  return std::move(*got);
}

// ---- loader -----------------------------------------------------------------------------------

TEST(UcxLoader, MissingModuleNamesTheLibrary) {
  ::setenv("ECHELON_UCX_MODULE", "/nonexistent/libechelon_ucx.so", 1);
  EXPECT_EQ(ucx_module_path(), "/nonexistent/libechelon_ucx.so");
  try {
    load_ucx_module();
    FAIL() << "loading a missing module succeeded";
  } catch (const TransportError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("/nonexistent/libechelon_ucx.so"), std::string::npos) << text;
    EXPECT_NE(text.find("libucp.so.0"), std::string::npos) << text;
    EXPECT_NE(text.find("libucx0"), std::string::npos) << text;
    EXPECT_NE(text.find("No such file"), std::string::npos) << text;  // dlerror's reason
  }
  ::unsetenv("ECHELON_UCX_MODULE");
}

TEST(UcxLoader, LoadsTheBuiltModule) {
  SKIP_WITHOUT_UCX();
  Side side("posix,self", [] {
    ucx::Module& m = ucx_test::module();
    UCX_CHECK(m.abi_version() == ucx::kModuleAbiVersion, "abi");
    UCX_CHECK(m.ucx_version().rfind("1.", 0) == 0, m.ucx_version());
    auto a = m.context();
    UCX_CHECK(a == m.context(), "one context per process");
  });
  EXPECT_EQ(side.result(), "");
}

// ---- active messages --------------------------------------------------------------------------

class UcxTransports : public ::testing::TestWithParam<std::string> {};

// The parent sends a small (eager) and an 8 MiB (rendezvous) frame with AM id 1; the runner checks
// them and echoes each back with AM id 2. A message with a wrong header size is filtered out.
TEST_P(UcxTransports, AmFramesRoundTripIncludingRendezvous) {
  SKIP_WITHOUT_UCX();
  auto [parent_link, runner_link] = ucx_test::make_links();
  const std::vector<size_t> sizes = {100, 8u << 20};
  Side runner(GetParam(), [&, &link = runner_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("runner-command");
    worker->listen_am(kToRunner, frame_filter());
    link.send(worker->address());
    auto ep = worker->connect(link.receive(), nullptr);
    for (size_t i = 0; i < sizes.size(); ++i) {
      ucx::ReceivedAm m = receive_one(*worker, 20s);
      UCX_CHECK(m.am_id == kToRunner, "am id");
      UCX_CHECK(m.header == pattern(kHeader, 7), "header bytes");
      UCX_CHECK(m.data == pattern(m.data.size(), 9), "payload bytes");
      UCX_CHECK(m.rendezvous == (m.data.size() > (1u << 20)), "the 8 MiB frame goes rendezvous, the small one eager");
      auto op = ep->send_am(kToParent, std::move(m.header), std::move(m.data));
      op->wait(deadline_in(20s));
    }
  });
  Side parent(GetParam(), [&, &link = parent_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("parent-command");
    worker->listen_am(kToParent, frame_filter());
    link.send(worker->address());
    auto ep = worker->connect(link.receive(), nullptr);
    // Refused by the runner's filter (39-byte header): never delivered.
    ep->send_am(kToRunner, std::vector<uint8_t>(39), std::vector<uint8_t>(10))->wait(deadline_in(20s));
    for (size_t bytes : sizes) {
      auto op = ep->send_am(kToRunner, pattern(kHeader, 7), pattern(bytes, 9));
      ucx::ReceivedAm echo = receive_one(*worker, 20s);
      op->wait(deadline_in(20s));
      UCX_CHECK(echo.am_id == kToParent, "echo id");
      UCX_CHECK(echo.data.size() == bytes, "echo size " + std::to_string(echo.data.size()));
      UCX_CHECK(echo.data == pattern(bytes, 9), "echo bytes");
    }
  });
  EXPECT_EQ(parent.result(), "");
  EXPECT_EQ(runner.result(), "");
}

// ---- RMA --------------------------------------------------------------------------------------

// The owner registers a buffer and exports {address, packed rkey, worker address}; the peer puts a
// pattern, flushes, and tells the owner, who finds the bytes in place; the peer then gets them
// back. The owner keeps progressing its worker meanwhile (UCX over TCP emulates RMA with messages
// the target must progress), woken from a thread that watches the link.
TEST_P(UcxTransports, PutThenFlushIsVisibleInPeerRegisteredBuffer) {
  SKIP_WITHOUT_UCX();
  auto [owner_link, peer_link] = ucx_test::make_links();
  constexpr size_t kBytes = 4u << 20;
  Side owner(GetParam(), [&, &link = owner_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("owner-data");
    std::vector<uint8_t> buffer(kBytes, 0);
    auto reg = ctx->register_memory(buffer.data(), buffer.size());
    UCX_CHECK(!reg->packed_rkey().empty() && reg->bytes() == kBytes, "registration");
    link.send(worker->address());
    link.send(reg->packed_rkey());
    link.send_u64(reinterpret_cast<uint64_t>(reg->base()));
    std::atomic<bool> flushed{false};
    std::thread watcher([&] {
      try {
        link.receive_u64(30s);
      } catch (...) {
      }
      flushed = true;
      worker->wake();  // the only cross-thread call a worker allows
    });
    try {
      ucx_test::progress_until(*worker, [&] { return flushed.load(); }, 40s, "wait for the peer's flush");
    } catch (...) {
      watcher.join();
      throw;
    }
    watcher.join();
    UCX_CHECK(buffer == pattern(kBytes, 3), "put bytes are in the registered buffer");
    link.send_u64(1);  // checked
    // Serve the peer's get until it is done.
    std::atomic<bool> finished{false};
    std::thread watcher2([&] {
      try {
        link.receive_u64(30s);
      } catch (...) {
      }
      finished = true;
      worker->wake();
    });
    ucx_test::progress_until(*worker, [&] { return finished.load(); }, 40s, "serve the peer's get");
    watcher2.join();
  });
  Side peer(GetParam(), [&, &link = peer_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("peer-data");
    const auto address = link.receive();
    const auto packed = link.receive();
    const uint64_t remote = link.receive_u64();
    auto ep = worker->connect(address, nullptr);
    auto key = ep->unpack_rkey(packed);
    const auto source = pattern(kBytes, 3);
    auto put = ep->put(source.data(), source.size(), remote, *key);
    put->wait(deadline_in(20s));
    ep->flush()->wait(deadline_in(20s));
    link.send_u64(1);
    link.receive_u64(30s);
    std::vector<uint8_t> back(kBytes, 0);
    ep->get(back.data(), back.size(), remote, *key)->wait(deadline_in(20s));
    ep->flush()->wait(deadline_in(20s));
    UCX_CHECK(back == source, "get returns the put bytes");
    link.send_u64(2);
  });
  EXPECT_EQ(peer.result(), "");
  EXPECT_EQ(owner.result(), "");
}

INSTANTIATE_TEST_SUITE_P(Loopback, UcxTransports, ::testing::Values("posix,self", "tcp,self"),
                         [](const auto& info) { return info.param == "tcp,self" ? "tcp" : "posix"; });

// ---- waiting ----------------------------------------------------------------------------------

// An idle worker (with a live endpoint, so UCX has transports to watch) sleeps in poll() on its
// event fd: over 300 ms of waiting the whole process uses only a few ms of CPU. Then another
// thread's wake() ends a long wait promptly.
TEST(UcxWorker, IdleWaitSleepsOnTheEventFdAndWakesFromAnotherThread) {
  SKIP_WITHOUT_UCX();
  Side side("tcp,self", [] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("idle");
    auto ep = worker->connect(worker->address(), nullptr);
    ep->flush()->wait(deadline_in(10s));  // wire-up done before measuring
    while (worker->progress()) {
    }
    const double cpu0 = process_cpu_ms();
    const auto t0 = Clock::now();
    const Deadline idle_end = t0 + 300ms;
    int wakeups = 0;
    while (Clock::now() < idle_end) {
      if (!worker->progress()) worker->wait(idle_end);
      ++wakeups;
    }
    const double cpu = process_cpu_ms() - cpu0;
    const double wall = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::fprintf(stderr, "idle wait: %.2f ms CPU over %.1f ms, %d wake-ups\n", cpu, wall, wakeups);
    UCX_CHECK(wall >= 295, "waited " + std::to_string(wall) + " ms");
    // Generous: a spinning loop would use ~300 ms here.
    UCX_CHECK(cpu < 60, "idle wait used " + std::to_string(cpu) + " ms CPU in " + std::to_string(wall) +
                            " ms (" + std::to_string(wakeups) + " wake-ups)");

    std::thread waker([&] {
      std::this_thread::sleep_for(100ms);
      worker->wake();
    });
    const auto t1 = Clock::now();
    while (worker->progress()) {
    }
    worker->wait(Clock::now() + 10s);
    const double woke_after = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
    waker.join();
    UCX_CHECK(woke_after < 5000, "wake() took " + std::to_string(woke_after) + " ms");
  });
  EXPECT_EQ(side.result(), "");
}

// ---- peer failure -----------------------------------------------------------------------------

// The victim's process is killed after the lane worked; the observer's error callback fires and
// an operation waiting on the endpoint fails with PEER_CLOSED well before its deadline.
TEST(UcxEndpoint, PeerKilledFiresErrorCallbackAndFailsTheWaitingOperation) {
  SKIP_WITHOUT_UCX();
  auto [observer_link, victim_link] = ucx_test::make_links();
  Side victim("tcp,self", [&, &link = victim_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("victim");
    worker->listen_am(kToRunner, frame_filter());
    link.send(worker->address());
    receive_one(*worker, 20s);
    link.send_u64(1);  // got it; now keep the endpoint alive until killed
    ucx_test::progress_until(*worker, [] { return false; }, 60s, "victim waiting to be killed");
  });
  const pid_t victim_pid = victim.pid();
  Side observer("tcp,self", [&, &link = observer_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("observer");
    std::string reason;
    auto ep = worker->connect(link.receive(), [&](const std::string& why) { reason = why; });
    ep->send_am(kToRunner, pattern(kHeader, 1), pattern(64, 2))->wait(deadline_in(20s));
    link.receive_u64();
    // Freeze the victim so a 32 MiB (rendezvous) send cannot complete, start it, and kill the
    // victim while the send is being waited for.
    ::kill(victim_pid, SIGSTOP);
    auto op = ep->send_am(kToRunner, pattern(kHeader, 1), pattern(32u << 20, 2));
    std::thread killer([&] {
      std::this_thread::sleep_for(200ms);
      ::kill(victim_pid, SIGKILL);
    });
    const auto t0 = Clock::now();
    std::string error;
    try {
      op->wait(t0 + 20s);
    } catch (const TransportError& e) {
      error = e.what();
      UCX_CHECK(e.code() == TransportErrc::PEER_CLOSED, error);
    }
    killer.join();
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    UCX_CHECK(!error.empty(), "the send to a killed peer completed");
    UCX_CHECK(took < 15, "failure took " + std::to_string(took) + " s");
    ucx_test::progress_until(*worker, [&] { return !reason.empty(); }, 5s, "error callback");
    UCX_CHECK(ep->failure() == reason, "failure() reports the callback's reason");
    std::fprintf(stderr, "waiting send failed %.3f s after the wait began (kill at 0.2 s): %s\n", took,
                 error.c_str());
  });
  EXPECT_EQ(observer.result(), "");
  (void)victim.result();  // killed, as intended
}

// A frozen (SIGSTOPped, not dead) peer never pulls a rendezvous send: the wait ends with TIMEOUT
// at its deadline, not later, and the endpoint itself is not marked failed by that.
TEST(UcxEndpoint, StalledPeerTimesOutAtTheDeadline) {
  SKIP_WITHOUT_UCX();
  auto [observer_link, victim_link] = ucx_test::make_links();
  Side victim("tcp,self", [&, &link = victim_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("stalled");
    worker->listen_am(kToRunner, frame_filter());
    link.send(worker->address());
    receive_one(*worker, 20s);
    link.send_u64(1);
    ucx_test::progress_until(*worker, [] { return false; }, 60s, "stalled peer waiting to be killed");
  });
  const pid_t victim_pid = victim.pid();
  Side observer("tcp,self", [&, &link = observer_link] {
    auto ctx = ucx_test::module().context();
    auto worker = ctx->create_worker("observer");
    auto ep = worker->connect(link.receive(), [](const std::string&) {});
    ep->send_am(kToRunner, pattern(kHeader, 1), pattern(64, 2))->wait(deadline_in(20s));
    link.receive_u64();
    ::kill(victim_pid, SIGSTOP);
    auto op = ep->send_am(kToRunner, pattern(kHeader, 1), pattern(32u << 20, 2));
    const auto t0 = Clock::now();
    std::string error;
    try {
      op->wait(t0 + 300ms);
    } catch (const TransportError& e) {
      error = e.what();
      UCX_CHECK(e.code() == TransportErrc::TIMEOUT, error);
    }
    const double took_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    UCX_CHECK(!error.empty(), "a send to a frozen peer completed");
    UCX_CHECK(took_ms >= 295 && took_ms < 2000, "timed out after " + std::to_string(took_ms) + " ms");
    op.reset();  // cancels the abandoned request
    ::kill(victim_pid, SIGKILL);
  });
  EXPECT_EQ(observer.result(), "");
  (void)victim.result();
}

}  // namespace
}  // namespace echelon::transport
