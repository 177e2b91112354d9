// The runner's UCX data plane (buffers.md 9.3): changed_runs() as a unit, and RMA between two real
// processes (forked before any UCX object): an owner side registers memory and sends its data
// worker address, the range's address and the packed key; an accessor side gets, puts and puts
// changed runs into it, over tcp and over shared memory; 256 MiB with checksums; a stopped peer
// times out within a bound, drops its endpoint, and the plane keeps working afterwards.
#include <gtest/gtest.h>
#include <signal.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "transport/ucx_data_plane.h"
#include "ucx_test_support.h"

namespace echelon::transport {
namespace {

using namespace std::chrono_literals;
using ucx_test::Link;
using ucx_test::Side;
using ucx_test::process_cpu_ms;

constexpr const char* kTcp = "tcp,self";
constexpr const char* kShm = "posix,self";

// ---- changed_runs ------------------------------------------------------------------------------

std::vector<uint8_t> bytes_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  return v;
}

TEST(ChangedRuns, EmptyAndAllEqual) {
  EXPECT_TRUE(changed_runs({}, {}).empty());
  const auto a = bytes_of(1000, 1);
  EXPECT_TRUE(changed_runs(a, a).empty());
  EXPECT_TRUE(changed_runs(a, a, 0).empty());
}

TEST(ChangedRuns, AllDifferent) {
  auto a = bytes_of(777, 1);
  auto b = a;
  for (auto& x : b) x = static_cast<uint8_t>(~x);
  EXPECT_EQ(changed_runs(a, b), (std::vector<ByteRun>{{0, 777}}));
  EXPECT_EQ(changed_runs(a, b, 0), (std::vector<ByteRun>{{0, 777}}));
  const std::vector<uint8_t> one_a{1}, one_b{2};
  EXPECT_EQ(changed_runs(one_a, one_b), (std::vector<ByteRun>{{0, 1}}));
}

TEST(ChangedRuns, EdgeBytes) {
  const auto a = bytes_of(1024, 3);
  auto b = a;
  b.front() ^= 1;
  b.back() ^= 0x80;
  EXPECT_EQ(changed_runs(a, b), (std::vector<ByteRun>{{0, 1}, {1023, 1}}));
  auto c = a;
  c[8] ^= 1;  // the first byte of the second word, and the last byte of a word
  c[15] ^= 1;
  EXPECT_EQ(changed_runs(a, c, 1), (std::vector<ByteRun>{{8, 1}, {15, 1}}));
  EXPECT_EQ(changed_runs(a, c, 64), (std::vector<ByteRun>{{8, 8}}));
}

TEST(ChangedRuns, GapMerging) {
  const auto a = bytes_of(4096, 7);
  auto b = a;
  for (size_t i : {100u, 101u, 102u}) b[i] ^= 0xFF;  // run [100, 103)
  b[166] ^= 0xFF;                                     // gap of 63 equal bytes: merged at 64
  b[231] ^= 0xFF;                                     // gap of 64: a run of its own at 64
  b[4095] ^= 0xFF;
  EXPECT_EQ(changed_runs(a, b, 64), (std::vector<ByteRun>{{100, 67}, {231, 1}, {4095, 1}}));
  EXPECT_EQ(changed_runs(a, b, 65), (std::vector<ByteRun>{{100, 132}, {4095, 1}}));
  EXPECT_EQ(changed_runs(a, b, 0), (std::vector<ByteRun>{{100, 3}, {166, 1}, {231, 1}, {4095, 1}}));
  EXPECT_EQ(changed_runs(a, b, 5000), (std::vector<ByteRun>{{100, 3996}}));
}

TEST(ChangedRuns, EveryOtherByteMergesIntoOneRun) {
  const auto a = bytes_of(10000, 9);
  auto b = a;
  for (size_t i = 1; i < b.size(); i += 2) b[i] ^= 1;
  EXPECT_EQ(changed_runs(a, b), (std::vector<ByteRun>{{1, 9999}}));
  EXPECT_EQ(changed_runs(a, b, 1).size(), 5000u);
}

TEST(ChangedRuns, RunsCoverExactlyTheDifferences) {
  // Random sparse changes: every differing byte is in a run, runs are ordered and disjoint, and
  // applying the runs to the snapshot yields the current buffer.
  uint64_t state = 12345;
  auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull; };
  for (int round = 0; round < 20; ++round) {
    const auto a = bytes_of(5000 + round, static_cast<uint8_t>(round));
    auto b = a;
    for (int k = 0; k < round * 3; ++k) b[(next() >> 33) % b.size()] ^= static_cast<uint8_t>(1 + (next() >> 60));
    const auto runs = changed_runs(a, b, 16);
    auto rebuilt = a;
    size_t end = 0;
    for (const ByteRun& r : runs) {
      ASSERT_GT(r.length, 0u);
      if (&r != &runs.front()) {
        ASSERT_GE(r.offset, end + 16);
      }
      ASSERT_NE(a[r.offset], b[r.offset]);
      ASSERT_NE(a[r.offset + r.length - 1], b[r.offset + r.length - 1]);
      std::memcpy(rebuilt.data() + r.offset, b.data() + r.offset, r.length);
      end = r.offset + r.length;
    }
    ASSERT_EQ(rebuilt, b) << "round " << round;
  }
}

TEST(ChangedRuns, SizeMismatchThrows) {
  const auto a = bytes_of(10, 1), b = bytes_of(11, 1);
  EXPECT_THROW(changed_runs(a, b), std::invalid_argument);
}

// ---- two processes -----------------------------------------------------------------------------

// Fills quickly by 64-bit words (the tail bytewise), so 256 MiB takes a fraction of a second.
void fill(uint8_t* p, size_t n, uint64_t seed) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t w = (i + seed) * 0x9E3779B97F4A7C15ull ^ seed;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + seed);
}
std::vector<uint8_t> filled(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  fill(v.data(), n, seed);
  return v;
}
uint64_t checksum(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// What the owner sends the accessor.
struct Remote {
  std::vector<uint8_t> worker;
  uint64_t addr = 0;
  std::vector<uint8_t> rkey;
  uint64_t pid = 0;
  RemoteRange range(uint64_t offset = 0) const { return RemoteRange{worker, addr + offset, rkey}; }
};

std::unique_ptr<UcxDataPlane> plane(const char* name) { return UcxDataPlane::create(ucx_test::module(), name); }

// Owner: a plane and a registered buffer of `bytes` (filled with `seed`), announced over `link`.
struct Owner {
  std::unique_ptr<UcxDataPlane> data = plane("owner");
  std::vector<uint8_t> buffer;
  std::unique_ptr<ucx::Registration> registration;
  Owner(const Link& link, size_t bytes, uint64_t seed) : buffer(filled(bytes, seed)) {
    registration = data->register_memory(buffer.data(), buffer.size());
    link.send(data->address());
    link.send_u64(reinterpret_cast<uintptr_t>(buffer.data()));
    link.send(registration->packed_rkey());
    link.send_u64(static_cast<uint64_t>(::getpid()));
  }
};

Remote receive_remote(const Link& link) {
  Remote r;
  r.worker = link.receive();
  r.addr = link.receive_u64();
  r.rkey = link.receive();
  r.pid = link.receive_u64();
  return r;
}

// Accessor: a plane and the owner's announcement, received over `link`.
struct Accessor {
  std::unique_ptr<UcxDataPlane> data = plane("accessor");
  Remote r;
  explicit Accessor(const Link& link) : r(receive_remote(link)) {}
  // The first `bytes` of the owner's range.
  std::vector<uint8_t> get(size_t bytes) {
    std::vector<uint8_t> v(bytes);
    data->get(r.range(), v.data(), bytes, deadline_in(20s));
    return v;
  }
};

void round_trip(const char* tls) {
  auto [owner_link, accessor_link] = ucx_test::make_links();
  constexpr size_t kBytes = (1u << 20) + 13;
  Side owner(tls, [&, &link = owner_link] {
    Owner o(link, kBytes, 1);
    UCX_CHECK(link.receive_u64() == 1, "put done");
    UCX_CHECK(o.buffer == filled(kBytes, 2), "the accessor's put is in the owner's buffer");
    link.send_u64(2);
  });
  Side accessor(tls, [&, &link = accessor_link] {
    Accessor a(link);
    auto& [data, r] = a;
    std::vector<uint8_t> got = a.get(kBytes);
    UCX_CHECK(got == filled(kBytes, 1), "get returns the owner's bytes");
    std::vector<uint8_t> slice(5000);
    data->get(r.range(1001), slice.data(), slice.size(), deadline_in(20s));
    UCX_CHECK(std::equal(slice.begin(), slice.end(), got.begin() + 1001), "an interior slice");
    data->get(r.range(), slice.data(), 0, deadline_in(20s));  // nothing to do
    // Callers on several threads: their operations queue up on the one data thread.
    std::vector<std::vector<uint8_t>> parts(4, std::vector<uint8_t>(kBytes / 4));
    std::vector<std::string> errors(parts.size());
    std::vector<std::thread> callers;
    for (size_t i = 0; i < parts.size(); ++i) {
      callers.emplace_back([&, i] {
        try {
          data->get(r.range(i * parts[i].size()), parts[i].data(), parts[i].size(), deadline_in(20s));
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : callers) t.join();
    for (size_t i = 0; i < parts.size(); ++i) {
      UCX_CHECK(errors[i].empty(), errors[i]);
      UCX_CHECK(std::equal(parts[i].begin(), parts[i].end(), got.begin() + i * parts[i].size()), "concurrent get");
    }
    // A released key is unpacked again on next use.
    data->release_remote_key(r.worker, r.rkey, deadline_in(5s));
    data->get(r.range(), slice.data(), slice.size(), deadline_in(20s));
    UCX_CHECK(std::equal(slice.begin(), slice.end(), got.begin()), "get after the key was released");
    const auto next = filled(kBytes, 2);
    data->put(r.range(), next.data(), next.size(), deadline_in(20s));
    UCX_CHECK(data->cached_peers(deadline_in(5s)) == 1, "one endpoint for the peer, reused");
    link.send_u64(1);
    UCX_CHECK(link.receive_u64() == 2, "owner verified");
    data->close();
    data->close();  // idempotent
    try {
      data->get(r.range(), got.data(), got.size(), deadline_in(5s));
      UCX_CHECK(false, "get after close");
    } catch (const TransportError& e) {
      UCX_CHECK(e.code() == TransportErrc::CLOSED, e.what());
    }
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

TEST(UcxDataPlane, GetAndPutRoundTripOverTcp) {
  SKIP_WITHOUT_UCX();
  round_trip(kTcp);
}

TEST(UcxDataPlane, GetAndPutRoundTripOverSharedMemory) {
  SKIP_WITHOUT_UCX();
  round_trip(kShm);
}

// What an import does up front: connect to the owner and unpack its key, both cached, so the first
// task's get reuses them. (UCX 1.13 does not validate a packed key's contents when unpacking, so
// only reachability and the key's form are checked here, not that it grants access.)
TEST(UcxDataPlane, PrepareRemoteKeyConnectsAndCachesUpFront) {
  SKIP_WITHOUT_UCX();
  auto [owner_link, accessor_link] = ucx_test::make_links();
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, 4096, 3);
    UCX_CHECK(link.receive_u64() == 1, "accessor done");
  });
  Side accessor(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    UCX_CHECK(a.data->cached_peers(deadline_in(20s)) == 0, "nothing cached before");
    a.data->prepare_remote_key(a.r.worker, a.r.rkey, deadline_in(20s));
    UCX_CHECK(a.data->cached_peers(deadline_in(20s)) == 1, "the owner's endpoint is cached");
    UCX_CHECK(a.get(4096) == filled(4096, 3), "the prepared key reads the owner's bytes");
    UCX_CHECK(a.data->cached_peers(deadline_in(20s)) == 1, "the get reused the endpoint");
    link.send_u64(1);
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

TEST(UcxDataPlane, PutRunsWritesOnlyTheChangedRuns) {
  SKIP_WITHOUT_UCX();
  auto [owner_link, accessor_link] = ucx_test::make_links();
  constexpr size_t kBytes = 256u << 10;
  constexpr size_t kForeign = 3000;  // written by the owner meanwhile; no run covers it
  const std::vector<size_t> changed = {0, 10, 20, 5000, 5001, 100000, kBytes - 1};
  auto modified = [&](std::vector<uint8_t> v) {
    for (size_t i : changed) v[i] ^= 0x5A;
    return v;
  };
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, kBytes, 1);
    UCX_CHECK(link.receive_u64() == 1, "snapshot taken");
    o.buffer[kForeign] = static_cast<uint8_t>(~o.buffer[kForeign]);
    link.send_u64(2);
    UCX_CHECK(link.receive_u64() == 3, "runs written");
    auto expected = modified(filled(kBytes, 1));
    expected[kForeign] = static_cast<uint8_t>(~expected[kForeign]);
    UCX_CHECK(o.buffer == expected, "only the changed runs were written");
    link.send_u64(4);
  });
  Side accessor(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    auto& [data, r] = a;
    std::vector<uint8_t> snapshot = a.get(kBytes);
    link.send_u64(1);
    UCX_CHECK(link.receive_u64() == 2, "foreign write done");
    const auto current = modified(snapshot);
    const auto runs = changed_runs(snapshot, current);
    UCX_CHECK(runs == (std::vector<ByteRun>{{0, 21}, {5000, 2}, {100000, 1}, {kBytes - 1, 1}}), "runs");
    data->put_runs(r.range(), current.data(), runs, deadline_in(20s));
    data->put_runs(r.range(), current.data(), {}, deadline_in(20s));  // nothing to do
    link.send_u64(3);
    UCX_CHECK(link.receive_u64() == 4, "owner verified");
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

void large_round_trip(const char* tls) {
  auto [owner_link, accessor_link] = ucx_test::make_links();
  constexpr size_t kBytes = 256u << 20;
  Side owner(tls, [&, &link = owner_link] {
    Owner o(link, kBytes, 11);
    link.send_u64(checksum(o.buffer.data(), kBytes));
    const uint64_t expected = link.receive_u64(60s);
    UCX_CHECK(checksum(o.buffer.data(), kBytes) == expected, "256 MiB put checksum");
    link.send_u64(1);
  });
  Side accessor(tls, [&, &link = accessor_link] {
    Accessor a(link);
    auto& [data, r] = a;
    const uint64_t owner_sum = link.receive_u64();
    std::vector<uint8_t> local(kBytes);
    auto t0 = std::chrono::steady_clock::now();
    data->get(r.range(), local.data(), kBytes, deadline_in(60s));
    const double get_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    UCX_CHECK(checksum(local.data(), kBytes) == owner_sum, "256 MiB get checksum");
    fill(local.data(), kBytes, 12);
    t0 = std::chrono::steady_clock::now();
    data->put(r.range(), local.data(), kBytes, deadline_in(60s));
    const double put_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    link.send_u64(checksum(local.data(), kBytes));
    UCX_CHECK(link.receive_u64(60s) == 1, "owner verified");
    std::printf("[ figures  ] UCX_TLS=%s 256 MiB: get %.2f GB/s (%.3f s), put %.2f GB/s (%.3f s)\n", tls,
                kBytes / get_s / 1e9, get_s, kBytes / put_s / 1e9, put_s);
    std::fflush(stdout);
  });
  EXPECT_EQ(accessor.result(90s), "");
  EXPECT_EQ(owner.result(90s), "");
}

TEST(UcxDataPlane, Large256MiBGetAndPutOverTcp) {
  SKIP_WITHOUT_UCX();
  large_round_trip(kTcp);
}

TEST(UcxDataPlane, Large256MiBGetAndPutOverSharedMemory) {
  SKIP_WITHOUT_UCX();
  large_round_trip(kShm);
}

// Both data threads idle (blocked on their event fds) once a peer endpoint exists: no spinning.
TEST(UcxDataPlane, IdleDataThreadsDoNotSpin) {
  SKIP_WITHOUT_UCX();
  auto [owner_link, accessor_link] = ucx_test::make_links();
  auto idle_cpu = [](const char* who) {
    const double cpu0 = process_cpu_ms();
    std::this_thread::sleep_for(400ms);
    const double cpu = process_cpu_ms() - cpu0;
    UCX_CHECK(cpu < 80, std::string(who) + " used " + std::to_string(cpu) + " ms CPU in 400 ms idle");
  };
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, 1u << 20, 41);
    UCX_CHECK(link.receive_u64() == 1, "connected");
    idle_cpu("owner");
    link.send_u64(2);
  });
  Side accessor(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    std::vector<uint8_t> local = a.get(1u << 20);
    link.send_u64(1);
    idle_cpu("accessor");
    UCX_CHECK(link.receive_u64() == 2, "owner done");
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

bool stopped(uint64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'T';
}

TEST(UcxDataPlane, StoppedPeerTimesOutAndThePlaneRecovers) {
  SKIP_WITHOUT_UCX();
  auto [owner_link, accessor_link] = ucx_test::make_links();
  constexpr size_t kBytes = 4u << 20;
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, kBytes, 21);
    UCX_CHECK(link.receive_u64() == 1, "stop request");
    ::raise(SIGSTOP);  // the whole process, its data thread included; the accessor resumes it
    UCX_CHECK(link.receive_u64(30s) == 2, "done");
  });
  Side accessor(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    auto& [data, r] = a;
    std::vector<uint8_t> local = a.get(kBytes);  // the endpoint exists
    link.send_u64(1);
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!stopped(r.pid)) {
      UCX_CHECK(std::chrono::steady_clock::now() < until, "the owner did not stop");
      std::this_thread::sleep_for(5ms);
    }
    // A get with a deadline: TIMEOUT soon after it, naming the operation and the peer. Meanwhile a
    // second caller's operation waits in the queue and times out there.
    std::string queued_error;
    std::thread second([&] {
      std::this_thread::sleep_for(100ms);
      std::vector<uint8_t> small(100);
      try {
        data->get(r.range(), small.data(), small.size(), deadline_in(300ms));
        queued_error = "no error";
      } catch (const TransportError& e) {
        queued_error = e.code() == TransportErrc::TIMEOUT ? e.what() : std::string("wrong code: ") + e.what();
      }
    });
    const auto t0 = std::chrono::steady_clock::now();
    try {
      data->get(r.range(), local.data(), kBytes, deadline_in(1s));
      UCX_CHECK(false, "get from a stopped peer succeeded");
    } catch (const TransportError& e) {
      const std::string text = e.what();
      UCX_CHECK(e.code() == TransportErrc::TIMEOUT, text);
      UCX_CHECK(text.find("get of 4194304 bytes") != std::string::npos, text);
      UCX_CHECK(text.find("peer data worker") != std::string::npos, text);
    }
    const auto waited = std::chrono::steady_clock::now() - t0;
    UCX_CHECK(waited >= 900ms && waited < 5s, std::to_string(waited / 1ms) + " ms");
    second.join();
    UCX_CHECK(queued_error.find("still queued") != std::string::npos, queued_error);
    UCX_CHECK(data->cached_peers(deadline_in(5s)) == 0, "the timed-out endpoint was dropped");

    // The owner resumes: a new endpoint, and the plane works again.
    ::kill(static_cast<pid_t>(r.pid), SIGCONT);
    const auto next = filled(kBytes, 22);
    data->put(r.range(), next.data(), kBytes, deadline_in(20s));
    data->get(r.range(), local.data(), kBytes, deadline_in(20s));
    UCX_CHECK(local == next, "round trip after the timeout");
    link.send_u64(2);
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

TEST(UcxDataPlane, KilledPeerFailsWithinTheDeadline) {
  SKIP_WITHOUT_UCX();
  auto [owner_link, accessor_link] = ucx_test::make_links();
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, 1u << 20, 31);
    (void)link.receive_u64(30s);
  });
  pid_t owner_pid = owner.pid();
  Side accessor(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    auto& [data, r] = a;
    std::vector<uint8_t> local = a.get(1u << 20);
    ::kill(owner_pid, SIGKILL);
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (::kill(owner_pid, 0) == 0 && !stopped(owner_pid)) {  // until reaped or a zombie
      std::ifstream stat("/proc/" + std::to_string(owner_pid) + "/stat");
      std::string line;
      std::getline(stat, line);
      if (line.find(") Z") != std::string::npos) break;
      UCX_CHECK(std::chrono::steady_clock::now() < until, "the owner did not die");
      std::this_thread::sleep_for(5ms);
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
      data->get(r.range(), local.data(), local.size(), deadline_in(1s));
      UCX_CHECK(false, "get from a killed peer succeeded");
    } catch (const TransportError& e) {
      UCX_CHECK(std::string(e.what()).find("peer data worker") != std::string::npos, e.what());
      std::printf("[ note     ] get from a killed peer: %s\n", e.what());
      std::fflush(stdout);
    }
    UCX_CHECK(std::chrono::steady_clock::now() - t0 < 5s, "bounded");
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_NE(owner.result(), "");  // killed
}

}  // namespace
}  // namespace echelon::transport
