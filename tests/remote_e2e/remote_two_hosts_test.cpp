// Two hosts on one machine (run by tests/remote_e2e/two_hosts.sh): this process and daemon A live
// in one network namespace, daemon B in another, joined only by a veth pair. Each side has its own
// network stack, interface and address, so nothing crosses over a shared loopback: the bootstrap,
// the lanes and UCX (told each side's interface with UCX_NET_DEVICES) all go over the link.
//
// The namespaces still share /dev/shm and the boot id, so daemon B's runners are told to count
// every peer's host token as foreign (ECHELON_TEST_FOREIGN_HOST_TOKEN=1): an import of an A
// allocation on B then moves by RMA across the link, as it would between two machines.
//
// Skipped unless the script set the ECHELON_TEST_HOST_* variables (namespaces need root).
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "chip_increment.h"
#include "remote_e2e_helpers.h"
#include "shm_probe.h"

namespace echelon::remote_e2e {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

class RemoteTwoHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string a_addr = env_or_empty("ECHELON_TEST_HOST_A_ADDR");
    const std::string b_netns = env_or_empty("ECHELON_TEST_HOST_B_NETNS");
    const std::string b_addr = env_or_empty("ECHELON_TEST_HOST_B_ADDR");
    const std::string b_device = env_or_empty("ECHELON_TEST_HOST_B_DEVICE");
    if (a_addr.empty() || b_netns.empty() || b_addr.empty() || b_device.empty())
      GTEST_SKIP() << "two-host tests run under tests/remote_e2e/two_hosts.sh (network namespaces, root)";
    // Off loopback a daemon takes authenticated sessions only.
    a.emplace(secret.path, std::vector<std::string>{}, ECHELON_SESSION_PLUGIN_DIR, DaemonPlace{"", a_addr});
    b.emplace(secret.path,
              std::vector<std::string>{"UCX_NET_DEVICES=" + b_device, "ECHELON_TEST_FOREIGN_HOST_TOKEN=1"},
              ECHELON_SESSION_PLUGIN_DIR, DaemonPlace{b_netns, b_addr});
  }
  void TearDown() override {
    for (auto* d : {&a, &b}) {
      if (!*d) continue;
      EXPECT_TRUE(wait_until([&] { return (*d)->runners().empty(); })) << "a runner outlived its session";
      EXPECT_TRUE((*d)->stop()) << "a daemon did not exit on SIGTERM";
    }
  }
  RemoteWorkerSpec spec(const Daemon& d) const {
    RemoteWorkerSpec s = spec_for(d);
    s.num_chips = 1;
    s.auth_secret_file = secret.path;
    return s;
  }
  SecretFile secret;
  std::optional<Daemon> a, b;
};

// A session on the other host: copies both ways (in frames on either profile: over tcp ucx keeps
// the parent out of RMA) and a task that changes the bytes in between.
TEST_F(RemoteTwoHosts, SessionOnTheOtherHostRunsTasksAndCopies) {
  Worker w(4, parent_options());
  const WorkerId far = w.add_remote_worker(spec(*b));
  w.register_inner(RemoteCallable::chip(inc_u8()), {far});
  const CallableHandle inc = w.register_callable(plugin_entry("session_chip_increment"), {far});
  w.init();
  constexpr size_t kBytes = size_t{24} << 20;
  const RemoteBufferHandle buf = w.remote_malloc(far, kBytes);
  std::vector<uint8_t> pattern(kBytes);
  for (size_t i = 0; i < kBytes; ++i) pattern[i] = static_cast<uint8_t>(i * 13 + (i >> 12));
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(pattern)));
  w.run([&](Orchestrator& o) { o.submit_next_level(inc, increment(buf, 3), {}, far); });
  std::vector<uint8_t> expected = pattern;
  for (auto& v : expected) v = static_cast<uint8_t>(v + 3);
  EXPECT_EQ(read_back(w, buf), expected);
  w.remote_free(buf);
  w.close();
}

// An allocation of a runner on host A, imported by a runner on host B: B's task reads and writes it
// across the link (no mapping of A's object; over tcp A's data thread serves B's get and put
// requests), and A sees the change after COMPLETION.
TEST_F(RemoteTwoHosts, ImportAcrossTheLinkMovesByRma) {
  if (!testing_ucx()) GTEST_SKIP() << "imports between hosts need the ucx profile's RMA";
  Worker w(4, parent_options());
  const WorkerId owner = w.add_remote_worker(spec(*a));
  const WorkerId importer = w.add_remote_worker(spec(*b));
  w.register_inner(RemoteCallable::chip(inc_u8()), {owner, importer});
  const CallableHandle inc = w.register_callable(plugin_entry("session_chip_increment"), {owner, importer});
  w.init();
  constexpr size_t kBytes = size_t{1} << 20;
  const RemoteBufferHandle buf = w.remote_malloc(owner, kBytes);
  const std::vector<uint8_t> pattern = byte_pattern(kBytes, 1);
  w.remote_copy_to(buf, 0, std::as_bytes(std::span(pattern)));
  const std::set<std::string> owner_objects = mapped_owner_objects(a->runners());
  const RemoteBufferHandle imported =
      w.remote_import(w.remote_export(buf, 0, kBytes, REMOTE_ACCESS_READ_WRITE), importer, REMOTE_ACCESS_READ_WRITE);
  w.run([&](Orchestrator& o) { o.submit_next_level(inc, increment(imported, 2), {}, importer); });
  for (const std::string& name : mapped_owner_objects(b->runners()))
    EXPECT_FALSE(owner_objects.contains(name)) << "host B mapped host A's object " << name;
  std::vector<uint8_t> expected = pattern;
  for (auto& v : expected) v = static_cast<uint8_t>(v + 2);
  EXPECT_EQ(read_back(w, buf), expected) << "host B's writes reached host A before COMPLETION";
  w.remote_release_import(imported);
  w.remote_free(buf);
  w.close();
}

}  // namespace
}  // namespace echelon::remote_e2e
