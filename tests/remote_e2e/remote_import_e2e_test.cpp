// Imports end to end (buffers.md 3, 6, 9.2; BUF-12, 16, 18): a level-4 Worker, a real daemon and
// two real runners on one host. The owner's allocation is exported, imported by the peer, written
// by a task on the peer through the imported view, read back on the owner, then released and freed
// with nothing of either session left in /dev/shm.

#include <array>
#include <cstring>
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

}  // namespace
}  // namespace echelon::remote_e2e
