// Dependency keys of remote arguments (buffers.md 8, BUF-22): key = the owner buffer's identity,
// footprint = [desc.offset, desc.offset + nbytes). The remote worker holds its tasks, so a consumer
// that depends on the held producer stays PENDING, and one that does not never is.
#include <gtest/gtest.h>

#include "remote_fixture.h"
#include "runtime/engine.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

using RemoteDeps = RemoteFixture;

}  // namespace

TEST_F(RemoteDeps, OverlappingRangesAtDifferentOffsetsSerialize) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 8192);
  book0->hold = true;
  TaskState reader = TaskState::FREE;
  auto run = w.submit([&](Orchestrator& o) {
    o.submit_next_level(task, TaskArgs().output(bytes(h, 0, 8192)), {}, r0);
    reader = o.state(o.submit_next_level(task, TaskArgs().input(bytes(h, 2048, 2048)), {}, r0).task);
  });
  EXPECT_EQ(reader, TaskState::PENDING) << "[2048, 4096) must wait for the writer of [0, 8192)";
  book0->release();
  run.wait();
  EXPECT_EQ(book0->dispatch_count(), 2u);
}

TEST_F(RemoteDeps, DisjointRangesDoNotSerialize) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 8192);
  book0->hold = true;
  TaskState reader = TaskState::FREE, touching = TaskState::FREE;
  auto run = w.submit([&](Orchestrator& o) {
    o.submit_next_level(task, TaskArgs().output(bytes(h, 0, 4096)), {}, r0);
    reader = o.state(o.submit_next_level(task, TaskArgs().input(bytes(h, 4096, 2048)), {}, r0).task);
    // A float view at an unaligned offset is compared by bytes: [6145, 6153) touches neither.
    touching = o.state(o.submit_next_level(task, TaskArgs().output(RemoteTensorRef(h, 6145, {2}, DataType::FLOAT32)),
                                           {}, r0).task);
  });
  EXPECT_NE(reader, TaskState::PENDING);
  EXPECT_NE(touching, TaskState::PENDING);
  book0->release();
  run.wait();
}

TEST_F(RemoteDeps, UnalignedOverlapStillSerializes) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  book0->hold = true;
  TaskState second = TaskState::FREE;
  auto run = w.submit([&](Orchestrator& o) {
    // Bytes [2, 6) and [4, 8) share two bytes although their element lattices look disjoint.
    o.submit_next_level(task, TaskArgs().output(RemoteTensorRef(h, 2, {1}, DataType::FLOAT32)), {}, r0);
    second = o.state(o.submit_next_level(task, TaskArgs().input(RemoteTensorRef(h, 4, {1}, DataType::FLOAT32)), {}, r0).task);
  });
  EXPECT_EQ(second, TaskState::PENDING);
  book0->release();
  run.wait();
}

TEST_F(RemoteDeps, ImportedViewSharesOwnerKey) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 4096);
  const RemoteBufferHandle imported = import_of(owner, r1, REMOTE_ACCESS_READ);
  book0->hold = true;
  TaskState reader = TaskState::FREE;
  auto run = w.submit([&](Orchestrator& o) {
    o.submit_next_level(task, TaskArgs().output(bytes(owner, 0, 4096)), {}, r0);
    reader = o.state(o.submit_next_level(task, TaskArgs().input(bytes(imported, 1024, 1024)), {}, r1).task);
  });
  EXPECT_EQ(reader, TaskState::PENDING) << "the importer's read must wait for the owner's write";
  book0->release();
  run.wait();
  EXPECT_EQ(book1->dispatch_count(), 1u);
}

TEST_F(RemoteDeps, GenerationSeparatesAllocations) {
  const RemoteBufferHandle gen1 = w.remote_malloc(r0, 4096);
  detail::RemoteBufferIdentity id = detail::RemoteHandleAccess::record(gen1)->id;
  id.generation = 2;  // the same buffer id reallocated
  const RemoteBufferHandle gen2 = crafted(id);
  book0->hold = true;
  TaskState reader = TaskState::FREE;
  auto run = w.submit([&](Orchestrator& o) {
    o.submit_next_level(task, TaskArgs().output(bytes(gen1, 0, 4096)), {}, r0);
    reader = o.state(o.submit_next_level(task, TaskArgs().input(bytes(gen2, 0, 4096)), {}, r0).task);
  });
  EXPECT_NE(reader, TaskState::PENDING);
  book0->release();
  run.wait();
}

// Engine level, to see the TensorMap itself.
TEST(RemoteDepsEngine, HostInlineRegistersNothing) {
  auto book = std::make_shared<RemoteBook>();
  book->hold = true;  // nothing completes, so nothing is consumed while the map is inspected
  CallableRegistry registry(7);
  Engine engine(4, quick_options(), registry);
  engine.add_lane(std::make_unique<FakeRemoteEndpoint>(0, book));
  engine.start();
  const auto callable = orch_fn("remote.deps.inline", [](Orchestrator&, const TaskArgs&, const CallConfig&) {});
  const CallableHandle h = registry.issue(callable.identity(), EntryKind::ORCHESTRATION, "inline", {0});
  detail::RemoteBufferIdentity id;
  id.issuer = engine.remote_issuer();
  id.worker = id.owner = 0;
  id.buffer_id = 5;
  id.generation = 1;
  id.nbytes = 64;
  const RemoteBufferHandle buffer = detail::RemoteHandleAccess::make(std::make_shared<detail::RemoteBufferRecord>(id));
  const std::byte payload[16]{};
  const CallConfig config;
  auto submit = [&](RunState& run, TaskArgs args) {
    SubmitSpec spec;
    spec.handle = &h;
    spec.args.push_back(std::move(args));
    spec.config = &config;
    spec.targets = {0};
    return engine.submit(run, std::move(spec));
  };
  auto run = engine.open_run();
  submit(*run, TaskArgs().input(RemoteTensorRef::host_inline(payload, {16}, DataType::UINT8)));
  submit(*run, TaskArgs().input(RemoteTensorRef::host_inline(payload, {4}, DataType::FLOAT32)));
  EXPECT_EQ(run->tensor_map.entry_count(), 0u);
  submit(*run, TaskArgs().input(RemoteTensorRef::host_inline(payload, {16}, DataType::UINT8)).inout(RemoteTensorRef(buffer, 8, {8}, DataType::UINT8)));
  EXPECT_EQ(run->tensor_map.entry_count(), 1u) << "only the buffer argument registers";
  EXPECT_EQ(run->tensor_map.key_count(), 1u);
  book->release();
  engine.close_run(*run, nullptr);
  engine.wait_run(run, 30);
  engine.stop();
}
