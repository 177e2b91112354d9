// Parent-side exports, imports and import releases (buffers.md 3 and 6; BUF-5, 6, 7, 18) against
// fake remote endpoints: the checks made before anything is sent, the owner pin, deferred
// releases, the release-then-free order, and all-or-nothing multi-importer imports.
#include <gtest/gtest.h>

#include <thread>

#include "core/remote_buffer_export.h"
#include "remote_fixture.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

using ReleasePolicy = RemoteFixture;
using RemoteMemoryApi = RemoteFixture;

// The journal's release and free entries, in order.
std::vector<std::string> releases_and_frees(const std::shared_ptr<Journal>& journal) {
  std::vector<std::string> out;
  for (const std::string& e : journal->copy())
    if (e.ends_with(":RELEASE_IMPORT") || e.ends_with(":FREE_REMOTE_BUFFER")) out.push_back(e);
  return out;
}

std::string entry(WorkerId w, const char* control) { return "w" + std::to_string(w) + ":" + control; }

size_t imports_sent(const std::shared_ptr<Journal>& journal) {
  size_t n = 0;
  for (const std::string& e : journal->copy()) n += e.ends_with(":IMPORT_BUFFER");
  return n;
}

// An export whose record is a copy of `real`'s with one field changed (what a forger could try).
RemoteBufferExport tampered(const RemoteBufferExport& real, const std::function<void(detail::RemoteExportRecord&)>& edit) {
  auto copy = std::make_shared<detail::RemoteExportRecord>(*detail::RemoteExportAccess::record(real));
  edit(*copy);
  return detail::RemoteExportAccess::make(std::move(copy));
}

}  // namespace

TEST_F(ReleasePolicy, OwnerFreeWaitsForImports) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferHandle a = import_of(owner, r1, REMOTE_ACCESS_READ);
  const RemoteBufferHandle b = import_of(owner, r2, REMOTE_ACCESS_READ);
  EXPECT_EQ(live_imports(owner), 2u);
  w.remote_free(owner);
  EXPECT_TRUE(owner.released());
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 0u) << "freed while two imports still map it";
  w.remote_release_import(a);
  EXPECT_TRUE(a.released());
  EXPECT_EQ(book1->count("RELEASE_IMPORT"), 1u);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 0u) << "freed while one import still maps it";
  w.remote_release_import(b);
  EXPECT_EQ(live_imports(owner), 0u);
  EXPECT_EQ(releases_and_frees(journal), (std::vector<std::string>{entry(r1, "RELEASE_IMPORT"),
                                                                    entry(r2, "RELEASE_IMPORT"),
                                                                    entry(r0, "FREE_REMOTE_BUFFER")}));
  w.remote_release_import(b);
  w.remote_free(owner);
  EXPECT_EQ(releases_and_frees(journal).size(), 3u) << "repeats send nothing";
}

TEST_F(ReleasePolicy, ImportReleaseDeferredUntilSlotRefsDrop) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferHandle imported = import_of(owner, r1, REMOTE_ACCESS_READ);
  book1->hold = true;
  auto run = w.submit([&](Orchestrator& o) {
    o.submit_next_level(task, TaskArgs().input(bytes(imported, 0, 64)), {}, r1);
    w.remote_release_import(imported);  // released now, unmapped later
    w.remote_free(owner);               // waits for the import's release
  });
  ASSERT_TRUE(eventually([&] { return book1->dispatch_count() == 1; }));
  EXPECT_TRUE(imported.released());
  EXPECT_EQ(live_refs(imported), 1u);
  EXPECT_EQ(book1->count("RELEASE_IMPORT"), 0u) << "released while a task still reads the import";
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 0u);
  book1->release();
  run.wait();  // a flush point: the slot is consumed, then the release and the free are due
  EXPECT_EQ(live_refs(imported), 0u);
  EXPECT_EQ(releases_and_frees(journal),
            (std::vector<std::string>{entry(r1, "RELEASE_IMPORT"), entry(r0, "FREE_REMOTE_BUFFER")}));
  const auto log = book1->log_copy();
  EXPECT_LT(std::find(log.begin(), log.end(), "TASK") - log.begin(),
            std::find(log.begin(), log.end(), "RELEASE_IMPORT") - log.begin());
}

TEST_F(ReleasePolicy, CloseSendsImportReleasesBeforeFrees) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferHandle imported = import_of(owner, r1, REMOTE_ACCESS_READ);
  w.remote_free(owner);
  book1->fail("RELEASE_IMPORT");
  const std::string err = what_of([&] { w.remote_release_import(imported); });
  EXPECT_NE(err.find("import release remains owed"), std::string::npos) << err;
  EXPECT_EQ(live_imports(owner), 1u) << "an unconfirmed release keeps the owner pinned";
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 0u);
  w.close();  // the last flush point retries the release, then frees the owner
  EXPECT_EQ(releases_and_frees(journal),
            (std::vector<std::string>{entry(r1, "RELEASE_IMPORT"), entry(r0, "FREE_REMOTE_BUFFER")}));
  EXPECT_EQ(book1->live_imports(), 0u);
}

TEST_F(RemoteMemoryApi, ExportImportRoutesExactFields) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 4096);
  const RemoteBufferExport ex = w.remote_export(owner, 1024, 512, REMOTE_ACCESS_READ_WRITE);
  EXPECT_EQ(ex.owner_worker(), r0);
  EXPECT_EQ(ex.nbytes(), 512u);
  EXPECT_EQ(ex.access(), REMOTE_ACCESS_READ_WRITE);
  const RemoteBufferHandle imported = w.remote_import(ex, r1, REMOTE_ACCESS_WRITE);
  EXPECT_TRUE(imported.is_imported());
  EXPECT_EQ(imported.worker(), r1);
  EXPECT_EQ(imported.owner_worker(), r0);
  EXPECT_EQ(imported.nbytes(), 512u);
  EXPECT_EQ(imported.address_space(), RemoteSpace::REMOTE_WINDOW);
  {
    std::lock_guard l(book1->mu);
    ASSERT_EQ(book1->imports.size(), 1u);
    const wire::ImportBufferRequest& req = book1->imports.begin()->second;
    EXPECT_EQ(req.importer_worker_id, r1);
    EXPECT_EQ(req.requested_access_flags, REMOTE_ACCESS_WRITE);
    EXPECT_EQ(req.export_desc.owner_worker_id, r0);
    EXPECT_EQ(req.export_desc.buffer_id, detail::RemoteHandleAccess::record(owner)->id.buffer_id);
    EXPECT_EQ(req.export_desc.offset, 1024u);
    EXPECT_EQ(req.export_desc.nbytes, 512u);
  }
  // The imported view's descriptor is owner-relative and names the import.
  w.run([&](Orchestrator& o) { o.submit_next_level(task, TaskArgs().output(bytes(imported, 16, 8)), {}, r1); });
  ASSERT_EQ(book1->dispatch_count(), 1u);
  std::lock_guard l(book1->mu);
  const RemoteTensorDesc& d = *book1->dispatches[0].remote.descs[0];
  EXPECT_EQ(d.address_space, RemoteSpace::REMOTE_WINDOW);
  EXPECT_EQ(d.owner_worker_id, r0);
  EXPECT_EQ(d.offset, 1024u + 16u);
  EXPECT_EQ(d.rkey_or_token, detail::RemoteHandleAccess::record(imported)->id.import_id);
}

TEST_F(RemoteMemoryApi, ImportRejectsForgedForeignOrStaleExport) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferExport ex = w.remote_export(owner, 0, 64, REMOTE_ACCESS_READ_WRITE);

  // A second Worker's export (foreign).
  auto other_book = std::make_shared<RemoteBook>();
  Worker other(4, quick_options());
  const WorkerId o0 = other.add_endpoint([&](WorkerId id) { return std::make_unique<FakeRemoteEndpoint>(id, other_book); });
  other.init();
  const RemoteBufferExport foreign = other.remote_export(other.remote_malloc(o0, 64), 0, 64, REMOTE_ACCESS_READ);

  const size_t sent = journal->copy().size();
  auto refused = [&](const RemoteBufferExport& e, WorkerId importer, const char* rule) {
    try {
      w.remote_import(e, importer, REMOTE_ACCESS_READ);
      ADD_FAILURE() << "accepted an import breaking: " << rule;
    } catch (const std::invalid_argument& err) {
      EXPECT_NE(std::string(err.what()).find(rule), std::string::npos) << err.what();
    }
  };
  refused(RemoteBufferExport{}, r1, "export was not issued by this Worker");
  refused(foreign, r1, "export was not issued by this Worker");
  refused(tampered(ex, [](auto& r) { r.issuer ^= 1; }), r1, "export was not issued by this Worker");
  refused(tampered(ex, [](auto& r) { r.generation += 1; }), r1, "stale export");
  refused(ex, r0, "other than the owner");
  refused(ex, local, "not a remote worker");
  refused(ex, 99, "not a remote worker");
  EXPECT_EQ(journal->copy().size(), sent) << "a refused import sends nothing";

  w.remote_free(owner);
  refused(ex, r1, "stale export: the owner handle was released");
  EXPECT_EQ(imports_sent(journal), 0u);
  // A released owner cannot be exported either.
  const std::string err = what_of([&] { w.remote_export(owner, 0, 64, REMOTE_ACCESS_READ); });
  EXPECT_NE(err.find("handle was released"), std::string::npos) << err;
}

TEST_F(RemoteMemoryApi, ImportAccessMustBeSubset) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferExport read_only = w.remote_export(owner, 0, 32, REMOTE_ACCESS_READ);
  const size_t sent = journal->copy().size();
  for (uint32_t requested : {REMOTE_ACCESS_WRITE, REMOTE_ACCESS_READ_WRITE, 0u, REMOTE_ACCESS_READ | 0x4u}) {
    const std::string err = what_of([&] { w.remote_import(read_only, r1, requested); });
    EXPECT_NE(err.find("must be a non-empty subset of the export's"), std::string::npos) << requested << ": " << err;
  }
  EXPECT_EQ(journal->copy().size(), sent);
  const RemoteBufferHandle h = w.remote_import(read_only, r1, REMOTE_ACCESS_READ);
  EXPECT_EQ(h.nbytes(), 32u);
  // The grant is what the import requested: a write through it is refused at submit.
  w.run([&](Orchestrator& o) {
    const std::string err = what_of([&] { o.submit_next_level(task, TaskArgs().inout(bytes(h, 0, 4)), {}, r1); });
    EXPECT_NE(err.find("needs READ|WRITE but its handle grants READ"), std::string::npos) << err;
  });
  // Export arguments are checked before anything is sent too.
  EXPECT_THROW(w.remote_export(owner, 0, 0, REMOTE_ACCESS_READ), std::invalid_argument);
  EXPECT_THROW(w.remote_export(owner, 0, 64, 0), std::invalid_argument);
  EXPECT_THROW(w.remote_export(owner, 0, 64, 0x4), std::invalid_argument);
  EXPECT_THROW(w.remote_export(owner, 64, 1, REMOTE_ACCESS_READ), std::out_of_range);
  EXPECT_THROW(w.remote_export(owner, 1, UINT64_MAX, REMOTE_ACCESS_READ), std::out_of_range);
  EXPECT_THROW(w.remote_export(h, 0, 4, REMOTE_ACCESS_READ), std::invalid_argument) << "imports are not re-exported";
  EXPECT_EQ(book0->count("EXPORT_BUFFER"), 1u);
}

TEST_F(RemoteMemoryApi, FreeAndReleaseKindChecks) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferHandle imported = import_of(owner, r1, REMOTE_ACCESS_READ);
  const std::byte four[4]{};
  const RemoteTensorRef inline_ref = RemoteTensorRef::host_inline(four, {4}, DataType::UINT8);
  const size_t sent = journal->copy().size();
  std::string err = what_of([&] { w.remote_free(imported); });
  EXPECT_NE(err.find("needs an owner handle"), std::string::npos) << err;
  err = what_of([&] { w.remote_release_import(owner); });
  EXPECT_NE(err.find("needs an imported handle"), std::string::npos) << err;
  EXPECT_THROW(w.remote_free(inline_ref.handle()), std::invalid_argument);
  EXPECT_THROW(w.remote_release_import(inline_ref.handle()), std::invalid_argument);
  EXPECT_THROW(w.remote_release_import(RemoteBufferHandle{}), std::invalid_argument);
  EXPECT_EQ(journal->copy().size(), sent) << "a refused free or release sends nothing";
  EXPECT_FALSE(owner.released());
  EXPECT_FALSE(imported.released());

  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { w.remote_release_import(imported); });
  for (auto& t : threads) t.join();
  w.remote_release_import(imported);
  EXPECT_EQ(book1->count("RELEASE_IMPORT"), 1u) << "concurrent and repeated releases send one control";
  EXPECT_TRUE(imported.released());
  err = what_of([&] { bytes(imported, 0, 4); });
  EXPECT_NE(err.find("handle was released"), std::string::npos) << err;
}

TEST_F(RemoteMemoryApi, PartialImportRollsBack) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferExport ex = w.remote_export(owner, 0, 64, REMOTE_ACCESS_READ);
  book2->fail("IMPORT_BUFFER");
  const std::string err = what_of([&] { w.remote_import(ex, std::vector<WorkerId>{r1, r2}, REMOTE_ACCESS_READ); });
  EXPECT_NE(err.find("into worker 3 failed, so the 1 import(s) made before it were released"), std::string::npos) << err;
  EXPECT_NE(err.find("injected by the test"), std::string::npos) << err;
  EXPECT_EQ(book1->count("IMPORT_BUFFER"), 1u);
  EXPECT_EQ(book1->count("RELEASE_IMPORT"), 1u);
  EXPECT_EQ(book1->live_imports(), 0u);
  EXPECT_EQ(book2->live_imports(), 0u);
  EXPECT_EQ(live_imports(owner), 0u) << "no pin survives a rolled-back import";
  // Nothing is left uncertain: both workers import again, and the owner frees once they release.
  const std::vector<RemoteBufferHandle> both = w.remote_import(ex, std::vector<WorkerId>{r1, r2}, REMOTE_ACCESS_READ);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].worker(), r1);
  EXPECT_EQ(both[1].worker(), r2);
  w.run([&](Orchestrator& o) { o.submit_next_level(task, TaskArgs().input(bytes(both[0], 0, 4)), {}, r1); });
  for (const auto& h : both) w.remote_release_import(h);
  w.remote_free(owner);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 1u);
}

TEST_F(RemoteMemoryApi, UnconfirmedImportReleaseIsPairScoped) {
  const RemoteBufferHandle a = w.remote_malloc(r0, 64), b = w.remote_malloc(r0, 64);
  const RemoteBufferHandle a_on_1 = import_of(a, r1, REMOTE_ACCESS_READ);  // made before: same pair
  const RemoteBufferHandle b_on_1 = import_of(b, r1, REMOTE_ACCESS_READ);  // same importer, other buffer
  const RemoteBufferExport ex = w.remote_export(a, 0, 64, REMOTE_ACCESS_READ);
  book2->fail("IMPORT_BUFFER");
  book1->fail("RELEASE_IMPORT");
  const std::string err = what_of([&] { w.remote_import(ex, std::vector<WorkerId>{r1, r2}, REMOTE_ACCESS_READ); });
  EXPECT_NE(err.find("import-cleanup-uncertain"), std::string::npos) << err;
  EXPECT_NE(err.find("unconfirmed on workers 1"), std::string::npos) << err;

  // The other importer of the same buffer is unaffected.
  const RemoteBufferHandle a_on_2 = w.remote_import(ex, r2, REMOTE_ACCESS_READ);
  w.run([&](Orchestrator& o) {
    std::string why = what_of([&] { o.submit_next_level(task, TaskArgs().input(bytes(a_on_1, 0, 4)), {}, r1); });
    EXPECT_NE(why.find("import-cleanup-uncertain"), std::string::npos) << why;
    o.submit_next_level(task, TaskArgs().input(bytes(b_on_1, 0, 4)), {}, r1);
    o.submit_next_level(task, TaskArgs().input(bytes(a_on_2, 0, 4)), {}, r2);
    o.submit_next_level(task, TaskArgs().inout(bytes(a, 0, 4)), {}, r0);
  });
  EXPECT_EQ(book1->dispatch_count(), 1u);
  EXPECT_EQ(book2->dispatch_count(), 1u);
  EXPECT_EQ(book0->dispatch_count(), 1u);
  std::string again = what_of([&] { w.remote_import(ex, r1, REMOTE_ACCESS_READ); });
  EXPECT_NE(again.find("import-cleanup-uncertain"), std::string::npos) << again;

  // The owner stays pinned by the unconfirmed import: its free waits for the session end.
  w.remote_release_import(a_on_1);
  w.remote_release_import(a_on_2);
  w.remote_free(a);
  EXPECT_EQ(live_imports(a), 1u);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 0u);
  // Buffer b is freed normally.
  w.remote_release_import(b_on_1);
  w.remote_free(b);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 1u);
}

TEST_F(RemoteMemoryApi, CrossHostImportNeedsRmaProfile) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferExport ex = w.remote_export(owner, 0, 64, REMOTE_ACCESS_READ);
  book1->fail_text = "UNSUPPORTED: host h worker 1 IMPORT_BUFFER seq 4: host_tcp peer import needs owner and importer "
                     "on the same host";
  book1->fail("IMPORT_BUFFER");
  const std::string err = what_of([&] { w.remote_import(ex, r1, REMOTE_ACCESS_READ); });
  EXPECT_NE(err.find("needs an RMA-capable profile (ucx)"), std::string::npos) << err;
  EXPECT_NE(err.find("of worker 0"), std::string::npos) << err;
  EXPECT_NE(err.find("into worker 1"), std::string::npos) << err;
  EXPECT_EQ(live_imports(owner), 0u);
  w.remote_free(owner);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 1u);
}
