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
  bool served = false;  // the owner is a data plane (RemoteRange::owner_serves)
  RemoteRange range(uint64_t offset = 0) const { return RemoteRange{worker, addr + offset, rkey, served}; }
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

// Which way the accessor's transfers went, and what the owner answered itself: requests to a data
// plane over tcp (peer failure detected, RMA emulated) are served by its thread; everything else
// is one-sided.
enum class Path { ONE_SIDED, SERVED };
Path expected_path(const char* tls, bool owner_serves) {
  return owner_serves && std::string(tls) == kTcp ? Path::SERVED : Path::ONE_SIDED;
}
void check_accessor_path(UcxDataPlane& data, Path path) {
  const UcxDataPlaneStats stats = data.stats(deadline_in(5s));
  if (path == Path::SERVED) {
    UCX_CHECK(stats.served_transfers > 0 && stats.one_sided_transfers == 0, "served transfers only");
  } else {
    UCX_CHECK(stats.one_sided_transfers > 0 && stats.served_transfers == 0, "one-sided transfers only");
  }
}
void check_owner_answered(UcxDataPlane& data, Path path) {
  const UcxDataPlaneStats stats = data.stats(deadline_in(5s));
  UCX_CHECK((stats.requests_served > 0) == (path == Path::SERVED),
            "requests served: " + std::to_string(stats.requests_served));
  UCX_CHECK(stats.requests_refused == 0 && stats.requests_dropped == 0, "nothing refused or dropped");
}

void round_trip(const char* tls, bool owner_serves) {
  const Path path = expected_path(tls, owner_serves);
  auto [owner_link, accessor_link] = ucx_test::make_links();
  constexpr size_t kBytes = (1u << 20) + 13;
  Side owner(tls, [&, &link = owner_link] {
    Owner o(link, kBytes, 1);
    UCX_CHECK(link.receive_u64() == 1, "put done");
    UCX_CHECK(o.buffer == filled(kBytes, 2), "the accessor's put is in the owner's buffer");
    check_owner_answered(*o.data, path);
    link.send_u64(2);
  });
  Side accessor(tls, [&, &link = accessor_link] {
    Accessor a(link);
    a.r.served = owner_serves;
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
    check_accessor_path(*data, path);
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
  round_trip(kTcp, false);
}

TEST(UcxDataPlane, GetAndPutServedByTheOwnerOverTcp) {
  SKIP_WITHOUT_UCX();
  round_trip(kTcp, true);
}

TEST(UcxDataPlane, GetAndPutRoundTripOverSharedMemory) {
  SKIP_WITHOUT_UCX();
  round_trip(kShm, false);
}

// Shared memory cannot fail an endpoint mid-operation: one-sided even towards a data plane.
TEST(UcxDataPlane, ServingOwnerOverSharedMemoryStaysOneSided) {
  SKIP_WITHOUT_UCX();
  round_trip(kShm, true);
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

void put_runs_only(bool owner_serves) {
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
    a.r.served = owner_serves;
    auto& [data, r] = a;
    std::vector<uint8_t> snapshot = a.get(kBytes);
    link.send_u64(1);
    UCX_CHECK(link.receive_u64() == 2, "foreign write done");
    const auto current = modified(snapshot);
    const auto runs = changed_runs(snapshot, current);
    UCX_CHECK(runs == (std::vector<ByteRun>{{0, 21}, {5000, 2}, {100000, 1}, {kBytes - 1, 1}}), "runs");
    data->put_runs(r.range(), current.data(), runs, deadline_in(20s));
    data->put_runs(r.range(), current.data(), {}, deadline_in(20s));  // nothing to do
    check_accessor_path(*data, expected_path(kTcp, owner_serves));
    link.send_u64(3);
    UCX_CHECK(link.receive_u64() == 4, "owner verified");
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

TEST(UcxDataPlane, PutRunsWritesOnlyTheChangedRuns) {
  SKIP_WITHOUT_UCX();
  put_runs_only(false);
}

TEST(UcxDataPlane, PutRunsServedByTheOwnerWritesOnlyTheChangedRuns) {
  SKIP_WITHOUT_UCX();
  put_runs_only(true);
}

// A served owner answers only for memory it registered, under the key it exported: a range
// reaching past the registration, a forged key, and a registration destroyed since are refused
// with an error naming the refusal, and the plane keeps serving valid requests.
TEST(UcxDataPlane, ServedOwnerRefusesWhatItDoesNotExport) {
  SKIP_WITHOUT_UCX();
  auto [owner_link, accessor_link] = ucx_test::make_links();
  constexpr size_t kBytes = 64u << 10;
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, kBytes, 61);
    UCX_CHECK(link.receive_u64() == 1, "refusals seen");
    const auto before = o.buffer;
    o.registration.reset();
    link.send_u64(2);
    UCX_CHECK(link.receive_u64() == 3, "refused after the registration went");
    UCX_CHECK(o.buffer == before, "no refused put wrote anything");
    const UcxDataPlaneStats stats = o.data->stats(deadline_in(5s));
    UCX_CHECK(stats.requests_refused == 4, "refused " + std::to_string(stats.requests_refused));
    link.send_u64(4);
  });
  Side accessor(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    a.r.served = true;
    auto& [data, r] = a;
    std::vector<uint8_t> local(kBytes);
    auto refused = [&](const RemoteRange& range, size_t bytes, bool get) {
      try {
        if (get) {
          data->get(range, local.data(), bytes, deadline_in(10s));
        } else {
          data->put(range, local.data(), bytes, deadline_in(10s));
        }
        UCX_CHECK(false, "a request for memory the owner does not export succeeded");
      } catch (const TransportError& e) {
        const std::string text = e.what();
        UCX_CHECK(e.code() == TransportErrc::INVALID_ADDRESS, text);
        UCX_CHECK(text.find("the owner refused") != std::string::npos, text);
        UCX_CHECK(text.find("NOT_REGISTERED") != std::string::npos, text);
      }
    };
    refused(r.range(kBytes - 100), 200, true);  // reaches past the end
    std::vector<uint8_t> forged = r.rkey;
    forged.push_back(0);
    refused(RemoteRange{r.worker, r.addr, forged, true}, 100, false);
    refused(r.range(kBytes), 1, false);  // just past the end
    UCX_CHECK(a.get(kBytes) == filled(kBytes, 61), "valid requests are still served");
    link.send_u64(1);
    UCX_CHECK(link.receive_u64() == 2, "registration destroyed");
    refused(r.range(), 100, true);
    link.send_u64(3);
    UCX_CHECK(link.receive_u64() == 4, "owner checked");
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

void large_round_trip(const char* tls, bool owner_serves) {
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
    a.r.served = owner_serves;
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
    check_accessor_path(*data, expected_path(tls, owner_serves));
    std::printf("[ figures  ] UCX_TLS=%s%s 256 MiB: get %.2f GB/s (%.3f s), put %.2f GB/s (%.3f s)\n", tls,
                owner_serves ? " served" : "", kBytes / get_s / 1e9, get_s, kBytes / put_s / 1e9, put_s);
    std::fflush(stdout);
  });
  EXPECT_EQ(accessor.result(90s), "");
  EXPECT_EQ(owner.result(90s), "");
}

TEST(UcxDataPlane, Large256MiBGetAndPutOverTcp) {
  SKIP_WITHOUT_UCX();
  large_round_trip(kTcp, false);
}

TEST(UcxDataPlane, Large256MiBGetAndPutServedOverTcp) {
  SKIP_WITHOUT_UCX();
  large_round_trip(kTcp, true);
}

TEST(UcxDataPlane, Large256MiBGetAndPutOverSharedMemory) {
  SKIP_WITHOUT_UCX();
  large_round_trip(kShm, false);
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

// Running or sleeping: not gone and not a zombie waiting to be reaped.
bool alive(uint64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

void stopped_peer(bool owner_serves) {
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
    a.r.served = owner_serves;
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
    check_accessor_path(*data, expected_path(kTcp, owner_serves));
    link.send_u64(2);
  });
  EXPECT_EQ(accessor.result(), "");
  EXPECT_EQ(owner.result(), "");
}

TEST(UcxDataPlane, StoppedPeerTimesOutAndThePlaneRecovers) {
  SKIP_WITHOUT_UCX();
  stopped_peer(false);
}

// The requester reconnects after its timeout; the resumed owner answers through a new endpoint
// as well (requester_epoch), not one paired with the requester's closed one.
TEST(UcxDataPlane, StoppedServingPeerTimesOutAndThePlaneRecovers) {
  SKIP_WITHOUT_UCX();
  stopped_peer(true);
}

void killed_peer(bool owner_serves) {
  auto [owner_link, accessor_link] = ucx_test::make_links();
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, 1u << 20, 31);
    (void)link.receive_u64(30s);
  });
  pid_t owner_pid = owner.pid();
  Side accessor(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    a.r.served = owner_serves;
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

TEST(UcxDataPlane, KilledPeerFailsWithinTheDeadline) {
  SKIP_WITHOUT_UCX();
  killed_peer(false);
}

TEST(UcxDataPlane, KilledServingPeerFailsWithinTheDeadline) {
  SKIP_WITHOUT_UCX();
  killed_peer(true);
}


// Accessors killed in the middle of large gets and puts, one after another, must not take the
// owner with them: over tcp UCX 1.13 emulates one-sided RMA with messages the target serves, and
// aborts the target when such a reply meets the dead accessor's endpoint, so the plane serves
// importers' requests itself there. The owner answers a live accessor afterwards, and its buffer
// holds only whole puts of one accessor or another.
TEST(UcxDataPlane, AccessorsKilledMidTransferLeaveTheOwnerServing) {
  SKIP_WITHOUT_UCX();
  constexpr size_t kBytes = 32u << 20;
  constexpr int kRounds = 6;
  auto [owner_link, test_link] = ucx_test::make_links();
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, kBytes, 51);
    UCX_CHECK(link.receive_u64(120s) == 1, "rounds done");
    const UcxDataPlaneStats stats = o.data->stats(deadline_in(5s));
    UCX_CHECK(stats.requests_served > 0, "the owner answered the requests itself");
    std::printf("[ note     ] owner: %llu requests answered, %llu answers to killed accessors failed\n",
                static_cast<unsigned long long>(stats.requests_served),
                static_cast<unsigned long long>(stats.replies_failed));
    std::fflush(stdout);
    link.send_u64(2);
  });
  // The owner's announcement, relayed to each accessor by this (UCX-free) process.
  const std::vector<uint8_t> worker = test_link.receive();
  const uint64_t addr = test_link.receive_u64();
  const std::vector<uint8_t> rkey = test_link.receive();
  const uint64_t owner_pid = test_link.receive_u64();
  auto announce = [&](const Link& to) {
    to.send(worker);
    to.send_u64(addr);
    to.send(rkey);
    to.send_u64(owner_pid);
  };
  for (int round = 0; round < kRounds; ++round) {
    auto [relay, accessor_link] = ucx_test::make_links();
    Side accessor(kTcp, [&, &link = accessor_link] {
      Accessor a(link);
      a.r.served = true;
      std::vector<uint8_t> local = a.get(4096);
      // Connected (wired up both ways: UCX 1.13 can abort a process whose peer dies during the
      // wireup itself, a different window this test leaves alone); transfers run until the kill.
      local.resize(kBytes);
      link.send_u64(1);
      for (uint64_t i = 0;; ++i) {
        if (i % 2 == 0) {
          a.data->get(a.r.range(), local.data(), kBytes, deadline_in(20s));
        } else {
          fill(local.data(), kBytes, 100 + i);
          a.data->put(a.r.range(), local.data(), kBytes, deadline_in(20s));
        }
      }
    });
    announce(relay);
    ASSERT_EQ(relay.receive_u64(), 1u) << "round " << round;
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + 17 * round));
    ::kill(accessor.pid(), SIGKILL);
    EXPECT_NE(accessor.result(), "");
    ASSERT_TRUE(alive(owner_pid)) << "the owner died in round " << round;
  }
  // A live accessor still gets served.
  auto [relay, accessor_link] = ucx_test::make_links();
  Side last(kTcp, [&, &link = accessor_link] {
    Accessor a(link);
    a.r.served = true;
    std::vector<uint8_t> local = a.get(kBytes);
    const auto next = filled(kBytes, 52);
    a.data->put(a.r.range(), next.data(), kBytes, deadline_in(20s));
    UCX_CHECK(a.get(kBytes) == next, "a put after the killed accessors reads back");
    check_accessor_path(*a.data, Path::SERVED);
  });
  announce(relay);
  EXPECT_EQ(last.result(), "");
  test_link.send_u64(1);
  EXPECT_EQ(test_link.receive_u64(), 2u);
  EXPECT_EQ(owner.result(), "");
}


// Three accessors at once, each with a full window of requests (32 MiB) on its own slice of one
// owner: together they ask for more than the owner keeps in flight (64 MiB of answers), so it may
// hold requests back while answers drain; every transfer still completes with the right bytes.
TEST(UcxDataPlane, ServedOwnerPacesSeveralAccessorsAtOnce) {
  SKIP_WITHOUT_UCX();
  constexpr size_t kSlice = 32u << 20;
  constexpr int kAccessors = 3;
  auto [owner_link, test_link] = ucx_test::make_links();
  Side owner(kTcp, [&, &link = owner_link] {
    Owner o(link, kSlice * kAccessors, 71);
    UCX_CHECK(link.receive_u64(120s) == 1, "accessors done");
    for (int i = 0; i < kAccessors; ++i) {
      const std::vector<uint8_t> slice(o.buffer.begin() + i * kSlice, o.buffer.begin() + (i + 1) * kSlice);
      UCX_CHECK(slice == filled(kSlice, 80 + i), "slice " + std::to_string(i) + " holds its accessor's put");
    }
    check_owner_answered(*o.data, Path::SERVED);
    link.send_u64(2);
  });
  const std::vector<uint8_t> worker = test_link.receive();
  const uint64_t addr = test_link.receive_u64();
  const std::vector<uint8_t> rkey = test_link.receive();
  const uint64_t owner_pid = test_link.receive_u64();
  std::vector<Link> relays, accessor_links;
  for (int i = 0; i < kAccessors; ++i) {
    auto [relay, accessor_link] = ucx_test::make_links();
    relays.push_back(std::move(relay));
    accessor_links.push_back(std::move(accessor_link));
  }
  std::vector<std::unique_ptr<Side>> accessors;
  for (int i = 0; i < kAccessors; ++i) {
    accessors.push_back(std::make_unique<Side>(kTcp, [&, i] {
      Accessor a(accessor_links[i]);
      a.r.served = true;
      const RemoteRange mine = a.r.range(i * kSlice);
      std::vector<uint8_t> local(kSlice);
      a.data->get(mine, local.data(), kSlice, deadline_in(60s));
      const std::vector<uint8_t> first = filled(kSlice * kAccessors, 71);
      UCX_CHECK(std::equal(local.begin(), local.end(), first.begin() + i * kSlice), "the owner's first bytes");
      const auto next = filled(kSlice, 80 + i);
      for (int round = 0; round < 3; ++round) {
        a.data->put(mine, next.data(), kSlice, deadline_in(60s));
        a.data->get(mine, local.data(), kSlice, deadline_in(60s));
        UCX_CHECK(local == next, "round " + std::to_string(round) + " reads back");
      }
      check_accessor_path(*a.data, Path::SERVED);
    }));
    relays[i].send(worker);
    relays[i].send_u64(addr);
    relays[i].send(rkey);
    relays[i].send_u64(owner_pid);
  }
  for (auto& side : accessors) EXPECT_EQ(side->result(120s), "");
  test_link.send_u64(1);
  EXPECT_EQ(test_link.receive_u64(60s), 2u);
  EXPECT_EQ(owner.result(), "");
}


// Two planes importing from each other at once, over tcp: each waits on its own served transfers
// while the other's requests arrive, so each must answer while it waits (else both would wait out
// their deadlines). Each reads the first half of the other's buffer and writes the second half.
// Answers go through endpoints of their own, so neither side's requests make the other reconnect:
// after twenty rounds each side has made two endpoints, one to send requests and one to answer
// (plus, on one side, those of a transfer through itself, made first so that the two sides'
// connection epochs differ).
TEST(UcxDataPlane, PlanesImportingFromEachOtherServeWhileTheyWait) {
  SKIP_WITHOUT_UCX();
  constexpr size_t kHalf = 4u << 20;
  auto [a_link, b_link] = ucx_test::make_links();
  auto side = [](const Link& link, uint64_t mine, uint64_t theirs) {
    Owner o(link, 2 * kHalf, mine);
    Remote r = receive_remote(link);
    r.served = true;
    std::vector<uint8_t> first(kHalf);
    uint64_t own_endpoints = 0, own_transfers = 0;
    if (mine == 1) {  // through itself: a connection before the other's
      o.data->get(RemoteRange{o.data->address(), reinterpret_cast<uintptr_t>(o.buffer.data()),
                              o.registration->packed_rkey(), true},
                  first.data(), kHalf, deadline_in(20s));
      UCX_CHECK(std::equal(first.begin(), first.end(), o.buffer.begin()), "its own first half");
      own_endpoints = o.data->stats(deadline_in(5s)).endpoints_created;  // one, or two if served
      own_transfers = 1;
      link.send_u64(7);  // the other side starts now, so these counts are its own
    } else {
      UCX_CHECK(link.receive_u64(20s) == 7, "the other side's transfer through itself");
    }
    const std::vector<uint8_t> expected_first = filled(kHalf, theirs);
    const std::vector<uint8_t> written = filled(kHalf, 1000 + mine);
    for (int round = 0; round < 20; ++round) {
      o.data->get(r.range(), first.data(), kHalf, deadline_in(20s));
      UCX_CHECK(first == expected_first, "round " + std::to_string(round) + ": the other's first half");
      o.data->put(r.range(kHalf), written.data(), kHalf, deadline_in(20s));
    }
    link.send_u64(1);
    UCX_CHECK(link.receive_u64(60s) == 1, "the other side finished");
    UCX_CHECK(std::equal(o.buffer.begin() + kHalf, o.buffer.end(), filled(kHalf, 1000 + theirs).begin()),
              "the other's puts are in the second half");
    const UcxDataPlaneStats stats = o.data->stats(deadline_in(5s));
    UCX_CHECK(stats.served_transfers + stats.one_sided_transfers == 40 + own_transfers, "transfers");
    UCX_CHECK(stats.served_transfers >= 40 && stats.requests_served >= 40, "served both ways");
    UCX_CHECK(stats.endpoints_created == 2 + own_endpoints,
              "endpoints created: " + std::to_string(stats.endpoints_created) + ", " +
                  std::to_string(own_endpoints) + " of them for the transfer through itself");
    link.send_u64(2);
    UCX_CHECK(link.receive_u64(20s) == 2, "the other side checked");
  };
  Side a(kTcp, [&, &link = a_link] { side(link, 1, 2); });
  Side b(kTcp, [&, &link = b_link] { side(link, 2, 1); });
  EXPECT_EQ(a.result(), "");
  EXPECT_EQ(b.result(), "");
}

}  // namespace
}  // namespace echelon::transport
