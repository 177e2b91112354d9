// Remote task arguments at submit (buffers.md 4, 6, 7; BUF-9, 10, 11, 17, 19, 21) and the parent's
// remote memory API (buffers.md 3; BUF-3, 4, 6, 8), against fake remote endpoints.
#include <gtest/gtest.h>

#include <numeric>
#include <thread>

#include "endpoint/remote_buffer_controls.h"
#include "remote_fixture.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

using RemoteSubmit = RemoteFixture;
using ReleasePolicy = RemoteFixture;
using RemoteMemoryApi = RemoteFixture;

uint64_t remote_chunk() { return remote_controls::max_copy_chunk_bytes(); }

std::string submit_error(Orchestrator& o, const CallableHandle& h, const TaskArgs& args, WorkerId target) {
  return what_of([&] { o.submit_next_level(h, args, {}, target); });
}

}  // namespace

TEST_F(RemoteSubmit, TagAccessMatrix) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferHandle grants[] = {import_of(owner, r1, REMOTE_ACCESS_READ), import_of(owner, r1, REMOTE_ACCESS_WRITE),
                                       import_of(owner, r1, REMOTE_ACCESS_READ_WRITE)};
  const std::byte payload[4]{};
  const TensorTag tags[] = {TensorTag::INPUT, TensorTag::OUTPUT, TensorTag::OUTPUT_EXISTING, TensorTag::INOUT,
                            TensorTag::NO_DEP};
  // Rows: tags; columns: READ, WRITE, READ|WRITE, inline.
  const bool legal[5][4] = {{true, false, true, true},
                            {false, true, true, false},
                            {false, true, true, false},
                            {false, false, true, false},
                            {false, false, true, false}};
  size_t accepted = 0;
  w.run([&](Orchestrator& o) {
    for (size_t t = 0; t < 5; ++t) {
      for (size_t g = 0; g < 4; ++g) {
        const RemoteTensorRef ref = g < 3 ? bytes(grants[g], 0, 4)
                                          : RemoteTensorRef::host_inline(payload, {4}, DataType::UINT8);
        const std::string err = submit_error(o, task, TaskArgs().add(ref, tags[t]), r1);
        if (legal[t][g]) {
          EXPECT_EQ(err, "") << to_string(tags[t]) << " x grant " << g;
          ++accepted;
        } else {
          EXPECT_NE(err.find(fmt::format("remote tensor 0 needs")), std::string::npos) << err;
          EXPECT_NE(err.find("but its handle grants"), std::string::npos) << err;
        }
      }
    }
  });
  EXPECT_EQ(book1->dispatch_count(), accepted);
}

TEST_F(RemoteSubmit, SidecarRefusedOnLocalPaths) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  const std::byte payload[4]{};
  w.run([&](Orchestrator& o) {
    const std::string rule = "RemoteTensorRef is only valid for NEXT_LEVEL submits to remote workers";
    std::string err = what_of([&] { o.submit_sub(sub, TaskArgs().input(bytes(h, 0, 4))); });
    EXPECT_NE(err.find(rule), std::string::npos) << err;
    err = submit_error(o, task, TaskArgs().input(bytes(h, 0, 4)), local);
    EXPECT_NE(err.find(rule), std::string::npos) << err;
    err = submit_error(o, task, TaskArgs().input(RemoteTensorRef::host_inline(payload, {4}, DataType::UINT8)), local);
    EXPECT_NE(err.find(rule), std::string::npos) << err;
    EXPECT_EQ(w.stats().live_slots, 0u);
  });
  EXPECT_EQ(live_refs(h), 0u);
}

TEST_F(RemoteSubmit, LocalBackingRefused) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  HostBuffer host(64);
  w.run([&](Orchestrator& o) {
    // A host view next to a valid remote argument: the whole task is refused.
    std::string err = submit_error(o, task, TaskArgs().input(bytes(h, 0, 4)).input(host.view(0, {4}, DataType::UINT8)), r0);
    EXPECT_NE(err.find("a remote task argument must carry no local backing"), std::string::npos) << err;
    // A placeholder whose sidecar was lost (copied out of its TaskArgs).
    const Tensor orphan = TaskArgs().input(bytes(h, 0, 4)).tensor(0);
    err = submit_error(o, task, TaskArgs().input(orphan), r0);
    EXPECT_NE(err.find("tensor 0 submitted without remote sidecar"), std::string::npos) << err;
    EXPECT_EQ(w.stats().live_slots, 0u);
  });
  EXPECT_EQ(live_refs(h), 0u);
  EXPECT_EQ(book0->dispatch_count(), 0u);
}

TEST_F(RemoteSubmit, NullRemoteOutputRefused) {
  w.run([&](Orchestrator& o) {
    const std::string err = submit_error(o, task, TaskArgs().output(Tensor::unbound({16}, DataType::FLOAT32)), r0);
    EXPECT_NE(err.find("remote OUTPUT tensor 0 has no storage; allocate it with remote_malloc (or import it) and pass "
                       "a RemoteTensorRef"), std::string::npos) << err;
    EXPECT_EQ(w.stats().live_slots, 0u);
  });
  EXPECT_EQ(book0->dispatch_count(), 0u);
}

namespace {
WorkerOptions tiny_ring() {
  WorkerOptions o = quick_options();
  o.heap_ring_bytes = 4096;
  return o;
}
class RemoteSubmitTinyRing : public RemoteFixture {
 protected:
  RemoteSubmitTinyRing() : RemoteFixture(tiny_ring()) {}
};
}  // namespace

TEST_F(RemoteSubmitTinyRing, RemoteOutputSkipsHeapRing) {
  // 64 KiB remote outputs on a 4 KiB heap ring: they would not fit even once if they took ring space.
  const RemoteBufferHandle h = w.remote_malloc(r0, 64 << 10);
  book0->hold = true;
  auto run = w.submit([&](Orchestrator& o) {
    for (int i = 0; i < 4; ++i) o.submit_next_level(task, TaskArgs().output(bytes(h, 0, 64 << 10)), {}, r0);
    // The local path still allocates from the ring, so the ring really is this small.
    const std::string err = what_of([&] {
      o.submit_next_level(task, TaskArgs().output(Tensor::unbound({64 << 10}, DataType::UINT8)), {}, local);
    });
    EXPECT_NE(err.find("more than a heap ring"), std::string::npos) << err;
  });
  book0->release();
  run.wait();
  EXPECT_EQ(book0->dispatch_count(), 4u);
}

TEST_F(RemoteSubmit, PlaceholdersFollowProtocolConventions) {
  const RemoteBufferHandle h = w.remote_malloc(r1, 256);
  const std::byte payload[8]{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                             std::byte{5}, std::byte{6}, std::byte{7}, std::byte{8}};
  w.run([&](Orchestrator& o) {
    o.submit_next_level(task,
                        TaskArgs()
                            .scalar(int64_t{7})
                            .input(RemoteTensorRef::host_inline(payload, {2}, DataType::INT32))
                            .inout(RemoteTensorRef(h, 64, {4, 4}, DataType::FLOAT32)),
                        {}, r1);
  });
  ASSERT_EQ(book1->dispatch_count(), 1u);
  const RemoteBook::Dispatch& d = book1->dispatches[0];
  ASSERT_TRUE(d.had_remote);
  ASSERT_EQ(d.tensors.size(), 2u);
  ASSERT_EQ(d.remote.descs.size(), 2u);
  // Inline: owner bytes zero, buffer 0, generation 1, bytes in the arena.
  const Tensor& in = d.tensors[0];
  EXPECT_EQ(in.buffer.backend_kind, BackendKind::REMOTE_SIDECAR);
  EXPECT_EQ(in.buffer.identity.owner_instance_id, (std::array<uint8_t, 8>{}));
  EXPECT_EQ(in.buffer.identity.buffer_id, 0u);
  EXPECT_EQ(in.buffer.identity.generation, 1u);
  EXPECT_EQ(in.buffer.nbytes, 8u);
  EXPECT_EQ(in.buffer.address_space, AddressSpace::HOST);
  const RemoteTensorDesc& di = *d.remote.descs[0];
  EXPECT_EQ(di.address_space, RemoteSpace::HOST_INLINE);
  EXPECT_EQ(di.buffer_id, 0u);
  EXPECT_EQ(di.generation, 0u);
  EXPECT_EQ(di.inline_len, 8u);
  ASSERT_EQ(d.remote.inline_arena.size(), 8u);
  EXPECT_EQ(d.remote.inline_arena[di.inline_offset + 7], 8);
  // Owner: nonce = owner id little-endian, identity = the allocation's, view bytes, offset in desc.
  const Tensor& t = d.tensors[1];
  const RemoteTensorDesc& dd = *d.remote.descs[1];
  EXPECT_EQ(t.buffer.identity.owner_instance_id, (std::array<uint8_t, 8>{static_cast<uint8_t>(r1)}));
  EXPECT_EQ(t.buffer.identity.buffer_id, dd.buffer_id);
  EXPECT_EQ(t.buffer.identity.generation, dd.generation);
  EXPECT_EQ(t.buffer.owner_worker_path_id, static_cast<uint32_t>(r1));
  EXPECT_EQ(t.buffer.address_space, AddressSpace::DEVICE);
  EXPECT_EQ(t.buffer.access, AccessMode::READWRITE);
  EXPECT_EQ(t.buffer.body_len, 0u);
  EXPECT_EQ(t.byte_offset, 0u);
  EXPECT_EQ(t.buffer.nbytes, 64u);
  EXPECT_EQ(t.strides[0], 4u);
  EXPECT_EQ(t.strides[1], 1u);
  EXPECT_EQ(dd.address_space, RemoteSpace::REMOTE_DEVICE);
  EXPECT_EQ(dd.owner_worker_id, r1);
  EXPECT_EQ(dd.offset, 64u);
  EXPECT_EQ(dd.nbytes, 64u);
}

TEST_F(RemoteSubmit, NoEligibleWorkerRefused) {
  const RemoteBufferHandle on1 = w.remote_malloc(r1, 64);
  w.run([&](Orchestrator& o) {
    const std::string err = submit_error(o, task, TaskArgs().input(bytes(on1, 0, 4)), r0);
    EXPECT_NE(err.find("no eligible remote worker for this task"), std::string::npos) << err;
    EXPECT_NE(err.find("eligible workers {1}"), std::string::npos) << err;
    EXPECT_EQ(w.stats().live_slots, 0u);
  });
  EXPECT_EQ(live_refs(on1), 0u);
  EXPECT_EQ(book0->dispatch_count(), 0u);
}

TEST_F(RemoteSubmit, ImportMakesOnlyImporterEligible) {
  const RemoteBufferHandle owner = w.remote_malloc(r0, 64);
  const RemoteBufferHandle imported = import_of(owner, r1, REMOTE_ACCESS_READ);
  w.run([&](Orchestrator& o) {
    const std::string err = submit_error(o, task, TaskArgs().input(bytes(imported, 0, 4)), r0);
    EXPECT_NE(err.find("no eligible remote worker"), std::string::npos) << err;
    EXPECT_NE(err.find("eligible workers {1}"), std::string::npos) << err;
    o.submit_next_level(task, TaskArgs().input(bytes(imported, 0, 4)), {}, r1);
  });
  EXPECT_EQ(book1->dispatch_count(), 1u);
}

TEST_F(RemoteSubmit, GroupIntersectsPerMember) {
  const RemoteBufferHandle a = w.remote_malloc(r0, 64), b = w.remote_malloc(r1, 64);
  w.run([&](Orchestrator& o) {
    const std::string err = what_of([&] {
      o.submit_next_level_group(task, {TaskArgs().inout(bytes(b, 0, 4)), TaskArgs().inout(bytes(a, 0, 4))}, {}, {r0, r1});
    });
    EXPECT_NE(err.find("member 0 target 0"), std::string::npos) << err;
    EXPECT_NE(err.find("no eligible remote worker"), std::string::npos) << err;
    EXPECT_EQ(live_refs(a), 0u);
    EXPECT_EQ(live_refs(b), 0u);
    o.submit_next_level_group(task, {TaskArgs().inout(bytes(a, 0, 4)), TaskArgs().inout(bytes(b, 0, 4))}, {}, {r0, r1});
  });
  EXPECT_EQ(book0->dispatch_count(), 1u);
  EXPECT_EQ(book1->dispatch_count(), 1u);
}

TEST_F(RemoteSubmit, RefusedSubmitLeavesNoRefs) {
  const RemoteBufferHandle a = w.remote_malloc(r0, 64), far = w.remote_malloc(r1, 64);
  book0->hold = true;
  auto run = w.submit([&](Orchestrator& o) {
    // Argument 0 alone would be fine; argument 1 is on the wrong worker: nothing of it stays.
    const std::string err = submit_error(o, task, TaskArgs().output(bytes(a, 0, 64)).input(bytes(far, 0, 4)), r0);
    EXPECT_NE(err.find("remote tensor 1"), std::string::npos) << err;
    EXPECT_EQ(live_refs(a), 0u);
    EXPECT_EQ(live_refs(far), 0u);
    EXPECT_EQ(w.stats().live_slots, 0u);
    // No TensorMap entry either: a reader of the same bytes does not wait for the refused writer.
    const SubmitResult r = o.submit_next_level(task, TaskArgs().input(bytes(a, 0, 64)), {}, r0);
    EXPECT_NE(o.state(r.task), TaskState::PENDING);
    EXPECT_EQ(live_refs(a), 1u);
  });
  book0->release();
  run.wait();
  EXPECT_EQ(live_refs(a), 0u);
  // With no reference left, a free goes out at once.
  w.remote_free(a);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 1u);
}

TEST_F(RemoteSubmit, ReleasedHandleRefused) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  const RemoteTensorRef early = bytes(h, 0, 4);
  w.remote_free(h);
  EXPECT_TRUE(h.released());
  std::string err = what_of([&] { bytes(h, 0, 4); });
  EXPECT_NE(err.find("handle was released"), std::string::npos) << err;
  w.run([&](Orchestrator& o) {
    err = what_of([&] { TaskArgs().input(early); });
    EXPECT_NE(err.find("handle was released"), std::string::npos) << err;
  });
  EXPECT_EQ(book0->dispatch_count(), 0u);
}

TEST_F(ReleasePolicy, FreeWaitsForSlotRefs) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  book0->hold = true;
  auto run = w.submit([&](Orchestrator& o) {
    o.submit_next_level(task, TaskArgs().input(bytes(h, 0, 64)), {}, r0);
    w.remote_free(h);  // released now, freed later
    EXPECT_TRUE(h.released());
  });
  ASSERT_TRUE(eventually([&] { return book0->dispatch_count() == 1; }));
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 0u) << "freed while a task still reads the buffer";
  EXPECT_EQ(live_refs(h), 1u);
  book0->release();
  run.wait();  // a flush point: the slot is consumed
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 1u);
  const auto log = book0->log_copy();
  const auto task_at = std::find(log.begin(), log.end(), "TASK");
  const auto free_at = std::find(log.begin(), log.end(), "FREE_REMOTE_BUFFER");
  EXPECT_LT(task_at - log.begin(), free_at - log.begin());
  w.remote_free(h);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 1u) << "a repeated free sends nothing";
}

TEST_F(ReleasePolicy, FailedSlotsReleaseRefs) {
  const RemoteBufferHandle a = w.remote_malloc(r0, 64), b = w.remote_malloc(r0, 64);
  book0->fail_tasks = true;
  const std::string err = what_of([&] {
    w.run([&](Orchestrator& o) {
      o.submit_next_level(task, TaskArgs().output(bytes(a, 0, 64)), {}, r0);  // fails
      try {
        // Poisoned; or refused with RunError when the producer already failed (a race with the
        // scheduler): either way it is never dispatched, and the frees below must still happen.
        o.submit_next_level(task, TaskArgs().input(bytes(a, 0, 64)).inout(bytes(b, 0, 8)), {}, r0);
      } catch (const RunError&) {
      }
      w.remote_free(a);
      w.remote_free(b);
    });
  });
  EXPECT_NE(err.find("TASK_FAILURE"), std::string::npos) << err;
  EXPECT_EQ(book0->dispatch_count(), 1u) << "the poisoned consumer is never dispatched";
  EXPECT_EQ(live_refs(a), 0u);
  EXPECT_EQ(live_refs(b), 0u);
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 2u);
}

TEST_F(RemoteMemoryApi, ConcurrentFreesSendOneControl) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { w.remote_free(h); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(book0->count("FREE_REMOTE_BUFFER"), 1u);
  EXPECT_TRUE(h.released());
}

TEST_F(RemoteMemoryApi, InvalidCallsSendNothing) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  const RemoteBufferHandle read_import = import_of(h, r1, REMOTE_ACCESS_READ);
  const RemoteBufferHandle rw_import = import_of(h, r1, REMOTE_ACCESS_READ_WRITE);
  const size_t before = book0->log_copy().size(), before1 = book1->log_copy().size();
  EXPECT_THROW(w.remote_malloc(r0, 0), std::invalid_argument);
  std::string err = what_of([&] { w.remote_malloc(local, 64); });
  EXPECT_NE(err.find("worker 2 is not a remote worker"), std::string::npos) << err;
  EXPECT_THROW(w.remote_free(RemoteBufferHandle{}), std::invalid_argument);
  EXPECT_THROW(w.remote_free(read_import), std::invalid_argument);
  std::byte buf[4]{};
  EXPECT_THROW(w.remote_copy_to(rw_import, 0, buf), std::invalid_argument);
  EXPECT_THROW(w.remote_copy_from(rw_import, 0, buf), std::invalid_argument);
  EXPECT_EQ(book0->log_copy().size(), before);
  EXPECT_EQ(book1->log_copy().size(), before1);
}

TEST_F(RemoteMemoryApi, CopyRangeChecks) {
  const RemoteBufferHandle h = w.remote_malloc(r0, 64);
  std::vector<std::byte> one(1), two(2), none;
  const size_t before = book0->log_copy().size();
  EXPECT_THROW(w.remote_copy_to(h, 64, one), std::out_of_range);
  EXPECT_THROW(w.remote_copy_to(h, 63, two), std::out_of_range);
  EXPECT_THROW(w.remote_copy_from(h, 64, one), std::out_of_range);
  EXPECT_THROW(w.remote_copy_from(h, 63, two), std::out_of_range);
  EXPECT_THROW(w.remote_copy_to(h, UINT64_MAX, one), std::out_of_range);
  EXPECT_THROW(w.remote_copy_to(h, 0, none), std::invalid_argument);
  EXPECT_EQ(book0->log_copy().size(), before) << "a refused copy sends nothing";
  // A round trip returns the bytes written.
  std::vector<std::byte> in(64), out(64);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::byte>(i + 1);
  w.remote_copy_to(h, 0, in);
  w.remote_copy_from(h, 0, out);
  EXPECT_EQ(in, out);
  w.remote_free(h);
  const std::string err = what_of([&] { w.remote_copy_to(h, 0, one); });
  EXPECT_NE(err.find("handle was released"), std::string::npos) << err;
}

TEST_F(RemoteMemoryApi, LargeCopyIsChunkedUnderLaneHold) {
  const uint64_t size = 40ull << 20;
  const RemoteBufferHandle h = w.remote_malloc(r0, size);
  std::vector<std::byte> in(size), out(size);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::byte>(i * 7 + i / 4096);
  // While the first chunk is being applied, a task for the same worker becomes READY; the
  // Scheduler runs full passes (woken through the endpoint's waker) but must not hand it over
  // before the last chunk.
  RunHandle run;
  bool submitted = false;
  book0->on_buffer_control = [&](const std::string& name) {
    if (name != "COPY_TO_REMOTE" || submitted) return;
    submitted = true;
    run = w.submit([&](Orchestrator& o) { o.submit_next_level(task, TaskArgs().input(bytes(h, 0, 64)), {}, r0); });
    const uint64_t seen = w.stats().scheduler_passes;
    Waker* waker = book0->waker;
    EXPECT_TRUE(eventually([&] {
      waker->wake();
      return w.stats().scheduler_passes >= seen + 2;  // pass seen+1 saw the READY task and finished
    }));
  };
  w.remote_copy_to(h, 0, in);
  book0->on_buffer_control = nullptr;
  run.wait();
  const auto log = book0->log_copy();
  std::vector<std::string> copies(log.begin(), log.end());
  std::erase(copies, "ALLOC_REMOTE_BUFFER");
  const uint64_t chunks = (size + remote_chunk() - 1) / remote_chunk();
  ASSERT_GE(chunks, 3u);
  ASSERT_EQ(copies.size(), chunks + 1);
  for (uint64_t i = 0; i < chunks; ++i) EXPECT_EQ(copies[i], "COPY_TO_REMOTE") << "position " << i;
  EXPECT_EQ(copies.back(), "TASK") << "the task went out between two chunks of one copy";
  w.remote_copy_from(h, 0, out);
  EXPECT_TRUE(in == out);
  EXPECT_EQ(book0->count("COPY_FROM_REMOTE"), chunks);
}
