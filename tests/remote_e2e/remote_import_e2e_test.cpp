// Imports end to end (buffers.md 3, 6, 9.2; BUF-12, 16, 18): a level-4 Worker, a real daemon and
// two real runners on one host. The owner's allocation is exported, imported by the peer, written
// by a task on the peer through the imported view, read back on the owner, then released and freed
// with nothing of either session left in /dev/shm.
//
// On ucx (buffers.md 9.3, BUF-26) the same tests take the same-host zero-copy path; the RemoteImportRma
// tests arm ECHELON_TEST_FOREIGN_HOST_TOKEN=1 in the daemon's runners, so every import is a cross-host
// one: no mapping, the arguments copied in by RMA per task and the changed bytes put back before
// COMPLETION.

#include <signal.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "echelon/chip_callable.h"
#include "echelon/remote_buffer.h"
#include "chip_increment.h"
#include "remote_e2e_helpers.h"
#include "shm_probe.h"

namespace echelon::remote_e2e {
namespace {

// The "es<session>_" prefix of the one owner object this daemon's runners mapped since `before`.
std::string new_session_prefix(const Daemon& daemon, const std::set<std::string>& before) {
  std::set<std::string> created;
  for (const auto& n : mapped_owner_objects(daemon.runners()))
    if (!before.contains(n)) created.insert(n);
  EXPECT_EQ(created.size(), 1u) << "one allocation is one shared-memory object of its session";
  return created.empty() ? std::string("<none>") : created.begin()->substr(0, 19);
}

class RemoteImportE2E : public DaemonTest {
 protected:
  // Two remote workers of one daemon, each with one chip that has inc_u8 loaded.
  void open(Worker& w) {
    RemoteWorkerSpec s = spec_for(daemon);
    s.num_chips = 1;
    owner = w.add_remote_worker(s);
    peer = w.add_remote_worker(s);
    w.register_inner(RemoteCallable::chip(inc_u8()), {owner, peer});
    inc = w.register_callable(plugin_entry("session_chip_increment"), {owner, peer});
  }
  WorkerId owner = kNoWorker, peer = kNoWorker;
  CallableHandle inc;
};

TEST_F(RemoteImportE2E, PeerTaskWritesOwnerBytesThroughImport) {
  Worker w(4, parent_options());
  open(w);
  w.init();
  std::set<std::string> before = mapped_owner_objects(daemon.runners());
  const RemoteBufferHandle buf = w.remote_malloc(owner, 4);
  const std::string owner_prefix = new_session_prefix(daemon, before);
  before = mapped_owner_objects(daemon.runners());
  const RemoteBufferHandle scratch = w.remote_malloc(peer, 1);  // only to learn the peer's session prefix
  const std::string peer_prefix = new_session_prefix(daemon, before);
  ASSERT_NE(owner_prefix, peer_prefix);

  const std::array<uint8_t, 4> in{10, 11, 12, 13};
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(in)));
  const RemoteBufferExport ex = w.remote_export(buf, 0, 4, REMOTE_ACCESS_READ_WRITE);
  EXPECT_EQ(ex.owner_worker(), owner);
  const RemoteBufferHandle imported = w.remote_import(ex, peer, REMOTE_ACCESS_READ_WRITE);
  EXPECT_TRUE(imported.is_imported());
  EXPECT_EQ(imported.worker(), peer);
  EXPECT_EQ(imported.owner_worker(), owner);
  EXPECT_EQ(imported.address_space(), RemoteSpace::REMOTE_WINDOW);
  EXPECT_EQ(objects_with_prefix(peer_prefix).size(), 1u) << "an import maps the owner's object, it creates none";

  // The owner handle runs only on the owner, the import only on the peer.
  w.run([&](Orchestrator& o) {
    const std::string err = [&] {
      try {
        o.submit_next_level(inc, increment(imported, 1), {}, owner);
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
      return std::string();
    }();
    EXPECT_NE(err.find("no eligible remote worker"), std::string::npos) << err;
    o.submit_next_level(inc, increment(imported, 1), {}, peer);
  });
  EXPECT_EQ(read_back(w, buf), (std::vector<uint8_t>{11, 12, 13, 14}));

  // A second import of the same export (read only), released before the writable one.
  const RemoteBufferHandle reader = w.remote_import(ex, peer, REMOTE_ACCESS_READ);
  w.remote_release_import(reader);
  w.remote_free(buf);  // waits for the remaining import
  EXPECT_EQ(objects_with_prefix(owner_prefix).size(), 1u) << "freed while the peer still maps it";
  w.remote_release_import(imported);  // RELEASE_IMPORT, then the owed FREE_REMOTE_BUFFER
  EXPECT_TRUE(objects_with_prefix(owner_prefix).empty()) << "the owner's allocation survived its free";
  w.remote_free(scratch);
  EXPECT_TRUE(objects_with_prefix(peer_prefix).empty());
  const std::string err = [&] {
    try {
      w.remote_import(ex, peer, REMOTE_ACCESS_READ);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(err.find("stale export"), std::string::npos) << err;
  w.close();
  EXPECT_TRUE(objects_with_prefix(owner_prefix).empty());
  EXPECT_TRUE(objects_with_prefix(peer_prefix).empty());
}

const ChipCallable& sum_u8() {
  static const ChipCallable k =
      ChipCallable::from_file(std::string(ECHELON_SESSION_KERNEL_DIR) + "/libsession_kernel_sum_u8.so");
  return k;
}

// session_chip_sum: `out` (one UINT64 on the same worker) = sum of the bytes of `in` (read only).
TaskArgs sum_of(const RemoteBufferHandle& in, const RemoteBufferHandle& out) {
  TaskArgs args;
  args.add(RemoteTensorRef(in, 0, {static_cast<uint32_t>(in.nbytes())}, DataType::UINT8), TensorTag::INPUT);
  args.add(RemoteTensorRef(out, 0, {1}, DataType::UINT64), TensorTag::OUTPUT_EXISTING);
  std::array<uint64_t, 4> digest_words{};  // the kernel's digest, eight bytes per scalar
  std::memcpy(digest_words.data(), sum_u8().identity().digest.data(), sizeof digest_words);
  for (const uint64_t word : digest_words) args.add_scalar_bits(word);
  return args;
}

// Two ucx runners of one daemon whose runners treat every peer's host token as foreign: imports
// take the RMA (copy-in / copy-out) path although both runners share /dev/shm.
class RemoteImportRma : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing_ucx()) GTEST_SKIP() << "the RMA import path exists on the ucx profile only";
    daemon.emplace(std::string(), std::vector<std::string>{"ECHELON_TEST_FOREIGN_HOST_TOKEN=1"});
  }
  void TearDown() override {
    if (!daemon) return;
    EXPECT_TRUE(wait_until([&] { return daemon->runners().empty(); })) << "a runner outlived its session";
    EXPECT_TRUE(daemon->stop()) << "the daemon did not exit on SIGTERM";
  }
  void open(Worker& w) {
    RemoteWorkerSpec s = spec_for(*daemon);
    s.num_chips = 1;
    owner = w.add_remote_worker(s);
    peer = w.add_remote_worker(s);
    w.register_inner(RemoteCallable::chip(inc_u8()), {owner, peer});
    w.register_inner(RemoteCallable::chip(sum_u8()), {owner, peer});
    inc = w.register_callable(plugin_entry("session_chip_increment"), {owner, peer});
    sum = w.register_callable(plugin_entry("session_chip_sum"), {owner, peer});
  }
  std::optional<Daemon> daemon;
  WorkerId owner = kNoWorker, peer = kNoWorker;
  CallableHandle inc, sum;
};

TEST_F(RemoteImportRma, ImportedBufferRunsOnPeerCopyInOut) {
  Worker w(4, parent_options());
  open(w);
  w.init();
  EXPECT_NE(daemon->log().find("test hook armed: ECHELON_TEST_FOREIGN_HOST_TOKEN=1"), std::string::npos)
      << "an armed test hook is logged";
  constexpr size_t kBytes = size_t{1} << 20;
  const RemoteBufferHandle buf = w.remote_malloc(owner, kBytes);
  const std::vector<uint8_t> pattern = byte_pattern(kBytes, 3);
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(pattern)));

  const std::set<std::string> before = mapped_owner_objects(daemon->runners());
  const RemoteBufferExport ex = w.remote_export(buf, 0, kBytes, REMOTE_ACCESS_READ_WRITE);
  const RemoteBufferHandle imported = w.remote_import(ex, peer, REMOTE_ACCESS_READ_WRITE);
  EXPECT_EQ(mapped_owner_objects(daemon->runners()), before) << "an RMA import maps no owner object";

  const auto t0 = std::chrono::steady_clock::now();
  w.run([&](Orchestrator& o) { o.submit_next_level(inc, increment(imported, 1), {}, peer); });
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("copy-in/out task over %zu bytes: %.1f ms\n", kBytes, ms);

  std::vector<uint8_t> expected = pattern;
  for (auto& b : expected) ++b;
  EXPECT_EQ(read_back(w, buf), expected) << "the peer's writes reached the owner before COMPLETION";

  // A task on part of the import writes back only what it changed.
  w.run([&](Orchestrator& o) {
    TaskArgs args = increment(imported, 5);
    TaskArgs part;
    part.add(RemoteTensorRef(imported, 16, {32}, DataType::UINT8), TensorTag::INOUT);
    for (size_t i = 0; i < args.scalar_count(); ++i) part.add_scalar_bits(args.scalar_bits(i));
    o.submit_next_level(inc, part, {}, peer);
  });
  for (size_t i = 16; i < 48; ++i) expected[i] = static_cast<uint8_t>(expected[i] + 5);
  EXPECT_EQ(read_back(w, buf), expected);

  w.remote_release_import(imported);
  w.remote_free(buf);
  w.close();
}

TEST_F(RemoteImportRma, ReadOnlyUseWritesNothingBack) {
  Worker w(4, parent_options());
  open(w);
  w.init();
  const std::vector<uint8_t> a{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const RemoteBufferHandle buf = w.remote_malloc(owner, a.size());
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(a)));
  const RemoteBufferHandle out = w.remote_malloc(peer, 8);
  const RemoteBufferExport ex = w.remote_export(buf, 0, a.size(), REMOTE_ACCESS_READ_WRITE);
  const RemoteBufferHandle imported = w.remote_import(ex, peer, REMOTE_ACCESS_READ_WRITE);

  w.run([&](Orchestrator& o) { o.submit_next_level(sum, sum_of(imported, out), {}, peer); });
  uint64_t total = 0;
  w.remote_copy_from(out, 0, std::as_writable_bytes(std::span(&total, 1)));
  EXPECT_EQ(total, 78u) << "the peer task read the owner's bytes through the import";
  EXPECT_EQ(read_back(w, buf), a) << "a read-only use of a read-write import changed the owner";

  // The owner changes its bytes; the next read-only use sees them and still writes nothing.
  std::vector<uint8_t> b = a;
  b[0] = 100;
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(b)));
  w.run([&](Orchestrator& o) { o.submit_next_level(sum, sum_of(imported, out), {}, peer); });
  w.remote_copy_from(out, 0, std::as_writable_bytes(std::span(&total, 1)));
  EXPECT_EQ(total, 177u);
  EXPECT_EQ(read_back(w, buf), b);

  w.remote_release_import(imported);
  w.remote_free(buf);
  w.remote_free(out);
  w.close();
}


// The importer's runner killed while its task's argument moves (the copy-in of a large import):
// the importer's session ends as a bounded endpoint failure, and the owner's runner, which was
// answering the transfer, carries on: its session runs tasks and copies as before. Over tcp the
// owner's data thread answers the importer's get and put requests itself, so a requester that
// dies is a failed send for it; UCX 1.13's emulated RMA aborted the owner in that case.
TEST_F(RemoteImportRma, ImporterKilledMidTransferLeavesTheOwnerServing) {
  Worker w(4, parent_options());
  open(w);
  w.init();
  constexpr size_t kBytes = size_t{128} << 20;
  const RemoteBufferHandle buf = w.remote_malloc(owner, kBytes);
  const RemoteBufferExport ex = w.remote_export(buf, 0, kBytes, REMOTE_ACCESS_READ_WRITE);
  const RemoteBufferHandle imported = w.remote_import(ex, peer, REMOTE_ACCESS_READ_WRITE);
  // The owner's runner maps its allocation; the importer's (an RMA import) maps nothing of it.
  pid_t owner_runner = -1, importer_runner = -1;
  for (const int pid : daemon->runners()) (mapped_owner_objects({pid}).empty() ? importer_runner : owner_runner) = pid;
  ASSERT_GT(owner_runner, 0);
  ASSERT_GT(importer_runner, 0);

  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));  // 128 MiB are on their way
    ::kill(importer_runner, SIGKILL);
  });
  const auto t0 = std::chrono::steady_clock::now();
  const std::string err =
      run_error(w, [&](Orchestrator& o) { o.submit_next_level(inc, increment(imported, 1), {}, peer); });
  killer.join();
  EXPECT_NE(err.find("ENDPOINT_FAILURE"), std::string::npos) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10)) << "the failure was not bounded";

  EXPECT_TRUE(process_alive(owner_runner)) << "the importer's death took the owner's runner with it";
  EXPECT_TRUE(w.health(owner).ready) << w.health(owner).reason;
  w.run([&](Orchestrator& o) { o.submit_next_level(inc, increment(buf, 2), {}, owner); });
  // Each byte is 0 + 2, or 1 + 2 where the importer's write-back had reached it before the kill.
  const std::vector<uint8_t> after = read_back(w, buf);
  ASSERT_EQ(after.size(), kBytes);
  EXPECT_TRUE(std::all_of(after.begin(), after.end(), [](uint8_t b) { return b == 2 || b == 3; }));
  w.close();
}

}  // namespace
}  // namespace echelon::remote_e2e
