// A level-4 Worker with three fake remote workers (ids 0, 1 and 3), a local thread worker (id 2)
// and a SUB worker, plus one orchestration callable installed on every NEXT_LEVEL child. The fakes
// share one Journal, which orders their buffer controls across workers.
#pragma once

#include <gtest/gtest.h>

#include "core/remote_buffer_record.h"
#include "fake_remote_endpoint.h"
#include "test_support.h"

namespace echelon::testing {

class RemoteFixture : public ::testing::Test {
 protected:
  explicit RemoteFixture(WorkerOptions options = quick_options()) : w(4, options) {
    r0 = w.add_endpoint([&](WorkerId id) { return std::make_unique<FakeRemoteEndpoint>(id, book0); });
    r1 = w.add_endpoint([&](WorkerId id) { return std::make_unique<FakeRemoteEndpoint>(id, book1); });
    local = w.add_worker({.isolation = ChildIsolation::THREAD});
    r2 = w.add_endpoint([&](WorkerId id) { return std::make_unique<FakeRemoteEndpoint>(id, book2); });
    for (auto* b : {&book0, &book1, &book2}) (*b)->journal = journal;
    w.add_sub(ChildIsolation::THREAD);
    task = w.register_callable(orch_fn("remote.task", [](Orchestrator&, const TaskArgs&, const CallConfig&) {}));
    sub = w.register_callable(sub_fn("remote.sub", [](const SubCall&) {}));
    w.init();
  }

  // A handle of this Worker with an arbitrary identity (odd generations cannot be made through
  // the public API); the issuer is taken from a real allocation.
  RemoteBufferHandle crafted(detail::RemoteBufferIdentity id) {
    if (!issuer) issuer = detail::RemoteHandleAccess::record(w.remote_malloc(r0, 16))->id.issuer;
    id.issuer = issuer;
    return detail::RemoteHandleAccess::make(std::make_shared<detail::RemoteBufferRecord>(id));
  }
  // An import of all of `owner` into `importer`, through the public API.
  RemoteBufferHandle import_of(const RemoteBufferHandle& owner, WorkerId importer, uint32_t access) {
    return w.remote_import(w.remote_export(owner, 0, owner.nbytes(), REMOTE_ACCESS_READ_WRITE), importer, access);
  }
  static uint32_t live_refs(const RemoteBufferHandle& h) { return detail::RemoteHandleAccess::record(h)->live_slot_refs(); }
  static uint32_t live_imports(const RemoteBufferHandle& h) { return detail::RemoteHandleAccess::record(h)->live_imports(); }
  static RemoteTensorRef bytes(const RemoteBufferHandle& h, uint64_t offset, uint32_t n) {
    return RemoteTensorRef(h, offset, {n}, DataType::UINT8);
  }

  std::shared_ptr<RemoteBook> book0 = std::make_shared<RemoteBook>();
  std::shared_ptr<RemoteBook> book1 = std::make_shared<RemoteBook>();
  std::shared_ptr<RemoteBook> book2 = std::make_shared<RemoteBook>();
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  Worker w;
  WorkerId r0 = 0, r1 = 0, local = 0, r2 = 0;
  CallableHandle task, sub;
  uint64_t issuer = 0;
};

}  // namespace echelon::testing
