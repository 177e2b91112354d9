// Remote buffers through the public API, end to end: a level-4 Worker, a real daemon and real
// runners whose inner chips run the session test kernels (loaded from the bootstrap manifest).
#include <signal.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "echelon/chip_callable.h"
#include "echelon/remote_buffer.h"
#include "chip_increment.h"
#include "remote_e2e_helpers.h"
#include "shm_probe.h"

namespace echelon::remote_e2e {
namespace {

class RemoteBufferE2E : public DaemonTest {
 protected:
  // One remote worker with one chip that has inc_u8 loaded, and the test plugin's entries.
  WorkerId open(Worker& w) {
    RemoteWorkerSpec s = spec_for(daemon);
    s.num_chips = 1;
    const WorkerId id = w.add_remote_worker(s);
    w.register_inner(RemoteCallable::chip(inc_u8()), {id});
    inc = w.register_callable(plugin_entry("session_chip_increment"), {id});
    fail = w.register_callable(plugin_entry("session_always_fail"), {id});
    return id;
  }
  CallableHandle inc, fail;
};

TEST_F(RemoteBufferE2E, TasksWriteInPlaceAndChainInOrder) {
  Worker w(4, parent_options());
  const WorkerId r = open(w);
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(r, 4);
  EXPECT_EQ(buf.worker(), r);
  EXPECT_EQ(buf.owner_worker(), r);
  EXPECT_EQ(buf.address_space(), RemoteSpace::REMOTE_DEVICE);
  EXPECT_EQ(read_back(w, buf), (std::vector<uint8_t>{0, 0, 0, 0}));  // new allocations are zero-filled
  const std::array<uint8_t, 4> in{1, 2, 3, 4};
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(in)));
  // Ten read-modify-write tasks in one run: the dependency keys order them, each adds its index.
  w.run([&](Orchestrator& o) {
    for (uint64_t k = 1; k <= 10; ++k) o.submit_next_level(inc, increment(buf, k), {}, r);
  });
  EXPECT_EQ(read_back(w, buf), (std::vector<uint8_t>{56, 57, 58, 59}));
  w.remote_free(buf);
  EXPECT_TRUE(buf.released());
  std::vector<uint8_t> scratch(4);
  EXPECT_THROW(w.remote_copy_from(buf, 0, std::as_writable_bytes(std::span(scratch))), std::invalid_argument);
  w.close();
}

TEST_F(RemoteBufferE2E, ConsumerOfFailedRemoteProducerIsNotDispatched) {
  Worker w(4, parent_options());
  const WorkerId r = open(w);
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(r, 4);
  const std::array<uint8_t, 4> in{1, 2, 3, 4};
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(in)));
  const std::string error = run_error(w, [&](Orchestrator& o) {
    TaskArgs produce;
    produce.add(RemoteTensorRef(buf, 0, {4}, DataType::UINT8), TensorTag::OUTPUT_EXISTING);
    o.submit_next_level(fail, produce, {}, r);          // fails on the runner
    o.submit_next_level(inc, increment(buf, 100), {}, r);  // reads what it produced: poisoned
  });
  EXPECT_NE(error.find("failed on purpose"), std::string::npos) << error;
  EXPECT_NE(error.find(fail.identity().hashid()), std::string::npos) << error;
  // Had the consumer been dispatched, every byte would have grown by 100.
  EXPECT_EQ(read_back(w, buf), (std::vector<uint8_t>{1, 2, 3, 4}));
  // The session is still usable: the failure was the task's, not the endpoint's.
  w.run([&](Orchestrator& o) { o.submit_next_level(inc, increment(buf, 1), {}, r); });
  EXPECT_EQ(read_back(w, buf), (std::vector<uint8_t>{2, 3, 4, 5}));
  w.close();
}

TEST_F(RemoteBufferE2E, LargeCopyRoundTripsInChunks) {
  Worker w(4, parent_options());
  const WorkerId r = open(w);
  w.init();
  constexpr uint64_t kBytes = uint64_t{40} << 20;  // more than two frames' worth
  std::vector<uint8_t> data(kBytes);
  for (uint64_t i = 0; i < kBytes; ++i) data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  const RemoteBufferHandle buf = w.remote_malloc(r, kBytes);
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(data)));
  const std::vector<uint8_t> back = read_back(w, buf);
  EXPECT_TRUE(back == data) << "40 MiB copy did not round-trip";
  w.remote_free(buf);
  w.close();
}

TEST_F(RemoteBufferE2E, SmallCopyChunksRoundTrip) {
  Worker w(4, parent_options());
  RemoteWorkerSpec s = spec_for(daemon);
  s.copy_chunk_bytes = 1000;  // not a power of two: chunk edges fall mid-pattern
  const WorkerId r = w.add_remote_worker(s);
  w.init();
  const std::vector<uint8_t> data = byte_pattern(10'500, 3);
  const RemoteBufferHandle buf = w.remote_malloc(r, data.size());
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(data)));
  EXPECT_EQ(read_back(w, buf), data);
  std::vector<uint8_t> middle(2'345);
  w.remote_copy_from(buf, 4'321, std::as_writable_bytes(std::span(middle)));
  EXPECT_TRUE(std::equal(middle.begin(), middle.end(), data.begin() + 4'321));
  w.close();
}

TEST_F(RemoteBufferE2E, DaemonSweepsSharedMemoryOfAKilledRunner) {
  Worker w(4, parent_options());
  const WorkerId r = open(w);
  w.init();
  const RemoteBufferHandle buf = w.remote_malloc(r, 4096);
  const pid_t runner = daemon.wait_for_single_runner();
  ASSERT_GT(runner, 0);
  // The allocation is the runner's own mapping of a session object (other tests may be creating
  // objects of their sessions in parallel, so /dev/shm alone cannot say which one is ours).
  const std::set<std::string> mapped = mapped_owner_objects({runner});
  ASSERT_EQ(mapped.size(), 1u) << "the allocation is one shared-memory object of the session";
  const std::string object = *mapped.begin();
  ASSERT_TRUE(session_shm_objects().contains(object));
  // The session's private directory ("echelon-s<16 hex>-XXXXXX", named like the object's session).
  const std::string dir_prefix = "echelon-s" + object.substr(2, 16) + "-";
  auto private_dirs = [&] {
    size_t n = 0;
    const char* tmp = std::getenv("TMPDIR");
    for (const auto& e : std::filesystem::directory_iterator(tmp && *tmp ? tmp : "/tmp"))
      if (e.path().filename().string().rfind(dir_prefix, 0) == 0) ++n;
    return n;
  };
  ASSERT_EQ(private_dirs(), 1u) << "the runner has its private directory " << dir_prefix << "*";
  ::kill(runner, SIGKILL);  // no chance to clean up after itself
  EXPECT_TRUE(wait_until([&] { return !session_shm_objects().contains(object); })) << object << " survived its runner";
  EXPECT_TRUE(wait_until([&] { return private_dirs() == 0; })) << dir_prefix << "* survived its runner";
  EXPECT_TRUE(wait_until([&] { return !w.health(r).ready; }));
  w.close();
}

}  // namespace
}  // namespace echelon::remote_e2e
