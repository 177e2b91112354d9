// Remote copies end to end with real processes: a 256 MiB buffer to a session and back through the
// public API, and a freed (buffer, generation) refused on both sides - by the parent before
// anything is sent, and by the runner when a hand-built descriptor or copy names it anyway.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "echelon/remote_buffer.h"
#include "endpoint/remote_buffer_controls.h"
#include "endpoint/remote_l3_endpoint.h"
#include "endpoint/remote_task_args.h"
#include "open_endpoint.h"
#include "remote_e2e_helpers.h"
#include "wire/task_payload.h"

namespace echelon::remote_e2e {
namespace {

namespace rc = remote_controls;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// splitmix64 of the word index: every 8-byte word differs, so a chunk written at the wrong offset,
// twice, or not at all changes the checksum.
uint64_t pattern_word(uint64_t index) {
  uint64_t z = index + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void fill_pattern(std::span<std::byte> bytes) {
  for (size_t i = 0; i * 8 < bytes.size(); ++i) {
    const uint64_t w = pattern_word(i);
    std::memcpy(bytes.data() + i * 8, &w, std::min<size_t>(8, bytes.size() - i * 8));
  }
}

// FNV-1a over 8-byte words (position-sensitive, cheap enough for 256 MiB).
uint64_t checksum(std::span<const std::byte> bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, bytes.data() + i, std::min<size_t>(8, bytes.size() - i));
    h = (h ^ w) * 0x100000001b3ull;
  }
  return h;
}

using RemoteCopyE2E = DaemonTest;

// Copies `bytes` of a pattern to a fresh buffer of the daemon's session and back, checks the
// checksum, then reads `probe_len` bytes at `probe_at` and checks them against what came back.
void round_trip_checked(const Daemon& daemon, uint64_t bytes, uint64_t probe_at, uint64_t probe_len) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(id, bytes);
  uint64_t sent_sum = 0;
  {
    std::vector<std::byte> src(bytes);  // gone before `back` exists: one big vector at a time
    fill_pattern(src);
    sent_sum = checksum(src);
    w.remote_copy_to(buf, 0, src);
  }
  std::vector<std::byte> back(bytes, std::byte{0xEE});
  w.remote_copy_from(buf, 0, back);
  EXPECT_EQ(checksum(back), sent_sum) << "the bytes read back are not the bytes written";
  std::vector<std::byte> part(probe_len);
  w.remote_copy_from(buf, probe_at, part);
  EXPECT_TRUE(std::equal(part.begin(), part.end(), back.begin() + static_cast<std::ptrdiff_t>(probe_at)))
      << "the range at " << probe_at << " reads other bytes";
  w.remote_free(buf);
  w.close();
}

TEST_F(RemoteCopyE2E, QuarterGibibyteRoundTripsIntact) {
  // 16 chunks each way (host_tcp). The parent holds one 256 MiB vector at a time and the runner's
  // object is another 256 MiB, which keeps a test well under 1 GiB while ctest runs two at once.
  // The probe is an odd range across the first chunk boundary.
  const uint64_t chunk = rc::max_copy_chunk_bytes();
  round_trip_checked(daemon, uint64_t{256} << 20, chunk - 3, 4096);
}

// ucx (buffers.md 9.3): 1 GiB each way, verified by checksum. Over shared memory (ucx-shm) in one
// version-2 control per direction, moved by the runner's RMA against the parent's registered
// memory; over tcp in command-lane frames (CopyPathFollowsTheLanes).
TEST_F(RemoteCopyE2E, GibibyteRoundTripsIntact) {
  if (!testing_ucx()) GTEST_SKIP() << "the 1 GiB copies are the ucx profile's; host_tcp runs the 256 MiB test";
  round_trip_checked(daemon, uint64_t{1} << 30, 12345, uint64_t{3} << 20);
}

// Large copies move by RMA only where the runner's RMA cannot endanger the parent: over shared
// memory only (UCX 1.13 cannot fail those endpoints mid-operation) or an RDMA lane, never over tcp,
// where UCX emulates RMA through the parent and aborts it when the runner dies meanwhile.
TEST_F(RemoteCopyE2E, CopyPathFollowsTheLanes) {
  OpenEndpoint open(daemon, {"session_check_inline_sum"});
  const uint64_t inline_max = spec_for(daemon).ucx_inline_copy_max;
  EXPECT_FALSE(open.ep.copies_by_rma(inline_max)) << "a copy up to ucx_inline_copy_max travels in one frame";
  EXPECT_EQ(open.ep.copies_by_rma(inline_max + 1), testing_ucx_shared_memory())
      << "profile " << test_profile() << ", UCX_TLS=" << (std::getenv("UCX_TLS") ? std::getenv("UCX_TLS") : "");
}

// Chunks of COPY_FROM_REMOTE are received straight into the caller's span: each lands exactly at
// its place (short last chunk, odd offsets) and the bytes around the span are never touched.
TEST_F(RemoteCopyE2E, ReadChunksLandExactlyInTheDestination) {
  constexpr uint64_t kBytes = (uint64_t{3} << 20) + 12345;
  Worker w(4, parent_options());
  RemoteWorkerSpec s = spec_for(daemon);
  s.copy_chunk_bytes = 1 << 20;
  const WorkerId id = w.add_remote_worker(s);
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(id, kBytes);
  std::vector<std::byte> src(kBytes);
  fill_pattern(src);
  w.remote_copy_to(buf, 0, src);

  constexpr size_t kGuard = 4096;
  for (const uint64_t offset : {uint64_t{0}, uint64_t{7}, uint64_t{(1 << 20) - 1}}) {
    const size_t n = kBytes - offset;
    std::vector<std::byte> dest(n + 2 * kGuard, std::byte{0xEE});
    w.remote_copy_from(buf, offset, std::span<std::byte>(dest).subspan(kGuard, n));
    EXPECT_TRUE(std::equal(dest.begin() + kGuard, dest.begin() + kGuard + static_cast<std::ptrdiff_t>(n),
                           src.begin() + static_cast<std::ptrdiff_t>(offset)))
        << "offset " << offset;
    EXPECT_EQ(std::count(dest.begin(), dest.begin() + kGuard, std::byte{0xEE}), static_cast<std::ptrdiff_t>(kGuard));
    EXPECT_EQ(std::count(dest.end() - kGuard, dest.end(), std::byte{0xEE}), static_cast<std::ptrdiff_t>(kGuard));
  }
  w.remote_free(buf);
  w.close();
}

TEST_F(RemoteCopyE2E, FreedHandleIsRefusedByTheParent) {
  Worker w(4, parent_options());
  const WorkerId id = w.add_remote_worker(spec_for(daemon));
  const auto sum = w.register_callable(plugin_entry("session_check_inline_sum"), {id});
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(id, 64);
  w.remote_free(buf);

  std::vector<std::byte> bytes(64);
  try {
    w.remote_copy_to(buf, 0, bytes);
    ADD_FAILURE() << "a copy to a freed handle was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "handle was released")) << e.what();
  }
  try {
    w.remote_copy_from(buf, 0, bytes);
    ADD_FAILURE() << "a copy from a freed handle was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "handle was released")) << e.what();
  }
  const std::string err = run_error(w, [&](Orchestrator& o) {
    TaskArgs args;
    args.add(RemoteTensorRef(buf, 0, {64}, DataType::UINT8), TensorTag::INPUT);
    o.submit_next_level(sum, args.scalar(uint64_t{0}), {}, id);
  });
  EXPECT_TRUE(contains(err, "handle was released")) << err;
  EXPECT_TRUE(w.health(id).ready) << w.health(id).reason;
}

// The runner's own check: the parent never sends a freed handle, so the descriptor and the copy
// are built by hand and go straight through a RemoteL3Endpoint (worker 0 of a fresh session).
TEST_F(RemoteCopyE2E, FreedGenerationIsRefusedByTheRunner) {
  OpenEndpoint open(daemon, {"session_check_inline_sum"});
  const rc::Allocation a = rc::alloc_result(open.control(rc::alloc(16)), 0, 16);
  rc::free_result(open.control(rc::free_buffer(0, a.buffer_id, a.generation)));

  RemoteTensorDesc freed;
  freed.address_space = RemoteSpace::REMOTE_DEVICE;
  freed.owner_worker_id = 0;
  freed.buffer_id = a.buffer_id;
  freed.generation = a.generation;
  freed.nbytes = 16;
  freed.remote_addr = a.remote_addr;
  freed.rkey_or_token = a.rkey_or_token;
  freed.access_flags = REMOTE_ACCESS_READ_WRITE;
  RemoteArgs remote;
  remote.descs = {freed};
  remote.handles = {nullptr};
  open.submit(1, 0, {0}, {wire::remote_placeholder(to_wire_desc(freed), std::vector<uint32_t>{16}, DataType::UINT8)},
              &remote);
  const std::vector<EndpointEvent> events = open.waker.await(open.ep, 1, std::chrono::seconds(10));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, Outcome::TASK_FAILURE);
  EXPECT_TRUE(contains(events[0].message, "was freed")) << events[0].message;

  const std::vector<std::byte> bytes(16, std::byte{1});
  const ControlReply copy = open.control(rc::copy_to(0, a.buffer_id, a.generation, 0, bytes));
  EXPECT_FALSE(copy.ok);
  EXPECT_FALSE(copy.uncertain) << "a refused copy was not applied: " << copy.error;
  EXPECT_TRUE(contains(copy.error, "COPY_TO_REMOTE")) << copy.error;
  EXPECT_TRUE(contains(copy.error, "was freed")) << copy.error;
  EXPECT_TRUE(open.ep.health().ready) << "refusals fail only the request: " << open.ep.health().reason;
}

// The zero-copy chunk path (RemoteL3Endpoint::control_borrowed): a refused chunk is a refused
// request that leaves the lane usable, the bytes go out of and come back into the caller's own
// memory, and a refused COPY_FROM_REMOTE writes nothing into the destination.
TEST_F(RemoteCopyE2E, RefusedBorrowedChunkLeavesTheLaneUsable) {
  OpenEndpoint open(daemon, {"session_check_inline_sum"});
  constexpr uint64_t kBytes = 3 << 20;
  const rc::Allocation a = rc::alloc_result(open.control(rc::alloc(kBytes)), 0, kBytes);
  std::vector<std::byte> data(kBytes);
  fill_pattern(data);
  const std::span<const uint8_t> tail{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
  const auto deadline = [] { return Clock::now() + std::chrono::seconds(10); };

  // One byte too far: only the runner can see it (the Worker API refuses it before sending).
  const ControlReply bad =
      open.ep.control_borrowed(rc::copy_to_head(0, a.buffer_id, a.generation, 1, data), tail, {}, deadline());
  EXPECT_FALSE(bad.ok);
  EXPECT_FALSE(bad.uncertain) << "a refused chunk was not applied: " << bad.error;
  EXPECT_TRUE(contains(bad.error, "COPY_TO_REMOTE")) << bad.error;
  ASSERT_TRUE(open.ep.health().ready) << open.ep.health().reason;

  rc::copy_to_result(open.ep.control_borrowed(rc::copy_to_head(0, a.buffer_id, a.generation, 0, data), tail, {},
                                              deadline()));
  std::vector<std::byte> back(kBytes, std::byte{0xEE});
  rc::copy_from_placed_result(open.ep.control_borrowed(
      rc::copy_from(0, a.buffer_id, a.generation, 0, kBytes), {},
      {reinterpret_cast<uint8_t*>(back.data()), back.size()}, deadline()));
  EXPECT_EQ(checksum(back), checksum(data));

  std::vector<std::byte> untouched(16, std::byte{0xEE});
  const ControlReply refused = open.ep.control_borrowed(rc::copy_from(0, a.buffer_id, a.generation, kBytes - 8, 16),
                                                        {}, {reinterpret_cast<uint8_t*>(untouched.data()), 16},
                                                        deadline());
  EXPECT_FALSE(refused.ok);
  EXPECT_FALSE(refused.uncertain) << refused.error;
  EXPECT_EQ(untouched, std::vector<std::byte>(16, std::byte{0xEE})) << "a refused read wrote into the destination";
  EXPECT_TRUE(open.ep.health().ready) << open.ep.health().reason;
}

// Copies `bytes` to and from `buf` in turn while another thread kills `runner` after `delay`,
// until one fails; returns that error ("" if the bound of 1000 copies passed first: a broken test).
std::string copy_until_killed(Worker& w, const RemoteBufferHandle& buf, uint64_t bytes, pid_t runner,
                              std::chrono::milliseconds delay) {
  std::vector<std::byte> src(bytes, std::byte{7});
  std::thread killer([&] {
    std::this_thread::sleep_for(delay);
    ::kill(runner, SIGKILL);
  });
  std::string error;
  for (int i = 0; i < 1000 && error.empty(); ++i) {
    try {
      if (i % 2 == 0) w.remote_copy_to(buf, 0, src);
      else w.remote_copy_from(buf, 0, src);
    } catch (const ControlError& e) {
      error = e.what();
    } catch (const std::invalid_argument& e) {  // the session was already seen dead before sending
      error = e.what();
    }
  }
  killer.join();
  return error;
}

// A runner killed while chunks are on the wire: the copy fails within the control deadline with
// the bytes already written, the worker is FAILED, and the Worker still closes. On ucx the chunks
// are command-lane frames (the copies stay below ucx_inline_copy_max).
TEST_F(RemoteCopyE2E, RunnerKilledMidCopyIsABoundedFailure) {
  const uint64_t kBytes = testing_ucx() ? (uint64_t{8} << 20) : (uint64_t{64} << 20);
  Worker w(4, parent_options());
  RemoteWorkerSpec s = spec_for(daemon);
  s.copy_chunk_bytes = 1 << 20;
  s.ucx_inline_copy_max = rc::max_copy_chunk_bytes();
  const WorkerId id = w.add_remote_worker(s);
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(id, kBytes);
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  // Each copy is 64 chunks.
  const std::string error = copy_until_killed(w, buf, kBytes, runner, std::chrono::milliseconds(20));
  ASSERT_FALSE(error.empty()) << "copies kept succeeding after the runner was killed";
  EXPECT_TRUE(contains(error, "failed after") || contains(error, "is not live")) << error;
  EXPECT_TRUE(wait_until([&] { return !w.health(id).ready; }));
  w.close();
}

// A runner killed while its RMA serves version-2 copies (ucx over shared memory: the runner gets
// from and puts into the parent's registered memory). Shared memory cannot report the death, so the
// health expiry fails the endpoint; the copy in flight fails with it, within that bound, and the
// Worker closes.
TEST_F(RemoteCopyE2E, RunnerKilledMidRmaCopyIsABoundedFailure) {
  if (!testing_ucx_shared_memory()) GTEST_SKIP() << "version-2 RMA copies run on the ucx-shm instance";
  constexpr uint64_t kBytes = uint64_t{64} << 20;
  Worker w(4, parent_options());
  RemoteWorkerSpec s = spec_for(daemon);
  s.health_interval_s = 0.1;
  s.health_expiry_s = 1;
  const WorkerId id = w.add_remote_worker(s);
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(id, kBytes);
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string error = copy_until_killed(w, buf, kBytes, runner, std::chrono::milliseconds(30));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(error.empty()) << "copies kept succeeding after the runner was killed";
  EXPECT_TRUE(contains(error, "the RMA copy") || contains(error, "is not live")) << error;
  // The expiry (1 s) plus slack for a loaded machine, far below the 30 s control timeout.
  EXPECT_LT(took, std::chrono::seconds(15)) << error;
  EXPECT_FALSE(w.health(id).ready);
  w.close();
}

}  // namespace
}  // namespace echelon::remote_e2e
