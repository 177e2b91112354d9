// RemoteBufferHandle invariants and public surface (buffers.md 2, BUF-1, BUF-2), and the remote
// argument a TaskArgs builds from a RemoteTensorRef (buffers.md 4, protocol.md 6.3).
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

#include "core/remote_buffer_record.h"
#include "echelon/task_args.h"

using namespace echelon;
using detail::RemoteBufferIdentity;
using detail::RemoteBufferRecord;

namespace {

RemoteBufferIdentity owner_id() {
  RemoteBufferIdentity id;
  id.issuer = 1;
  id.worker = id.owner = 3;
  id.buffer_id = 7;
  id.generation = 1;
  id.nbytes = 4096;
  return id;
}

RemoteBufferIdentity import_id() {
  RemoteBufferIdentity id = owner_id();
  id.worker = 5;
  id.import_id = 2;
  id.space = RemoteSpace::REMOTE_WINDOW;
  id.offset = 1024;
  id.nbytes = 1024;
  id.access = REMOTE_ACCESS_READ;
  return id;
}

void expect_refused(RemoteBufferIdentity id, const char* rule) {
  try {
    RemoteBufferRecord r(id);
    ADD_FAILURE() << "accepted a handle breaking: " << rule;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(rule), std::string::npos) << e.what();
  }
}

RemoteBufferHandle handle_of(const RemoteBufferIdentity& id) {
  return detail::RemoteHandleAccess::make(std::make_shared<RemoteBufferRecord>(id));
}

}  // namespace

TEST(RemoteBufferHandle, OwnerInvariants) {
  const RemoteBufferHandle h = handle_of(owner_id());
  EXPECT_EQ(h.worker(), 3);
  EXPECT_EQ(h.owner_worker(), 3);
  EXPECT_EQ(h.nbytes(), 4096u);
  EXPECT_EQ(h.address_space(), RemoteSpace::REMOTE_DEVICE);
  EXPECT_FALSE(h.is_imported());
  EXPECT_FALSE(h.released());
  auto id = owner_id();
  id.worker = 4;
  expect_refused(id, "worker != owner");
  id = owner_id();
  id.import_id = 1;
  expect_refused(id, "import_id 0");
  id = owner_id();
  id.buffer_id = 0;
  expect_refused(id, "buffer_id 0");
  id = owner_id();
  id.generation = 0;
  expect_refused(id, "generation 0");
  id = owner_id();
  id.generation = uint64_t{1} << 32;
  expect_refused(id, "32 bits");
  id = owner_id();
  id.access = 0x4 | REMOTE_ACCESS_READ;
  expect_refused(id, "unknown bits");
  id = owner_id();
  id.nbytes = 0;
  expect_refused(id, "zero bytes");
}

TEST(RemoteBufferHandle, ImportInvariants) {
  const RemoteBufferHandle h = handle_of(import_id());
  EXPECT_TRUE(h.is_imported());
  EXPECT_EQ(h.worker(), 5);
  EXPECT_EQ(h.owner_worker(), 3);
  EXPECT_EQ(h.address_space(), RemoteSpace::REMOTE_WINDOW);
  auto id = import_id();
  id.import_id = 0;
  expect_refused(id, "needs an import_id");
  id = import_id();
  id.worker = id.owner;
  expect_refused(id, "other than the owner");
}

TEST(RemoteBufferHandle, InlineInvariants) {
  auto id = owner_id();
  id.space = RemoteSpace::HOST_INLINE;
  expect_refused(id, "inline payloads have no handle");
  const std::byte four[4]{};
  const RemoteTensorRef ref = RemoteTensorRef::host_inline(four, {4}, DataType::UINT8);
  EXPECT_TRUE(ref.is_inline());
  EXPECT_FALSE(ref.handle());
  EXPECT_THROW(RemoteTensorRef::host_inline(four, {2}, DataType::FLOAT32), std::invalid_argument) << "8 bytes needed";
  std::vector<std::byte> big(MAX_INLINE_ARENA_BYTES + 1);
  EXPECT_THROW(RemoteTensorRef::host_inline(big, {static_cast<uint32_t>(big.size())}, DataType::UINT8),
               std::invalid_argument);
}

// BUF-2: the public handle has no way to reveal or forge transport state.
template <typename H>
concept HasRemoteAddr = requires(const H& h) { h.remote_addr(); };
template <typename H>
concept HasRkey = requires(const H& h) { h.rkey_or_token(); };
template <typename H>
concept HasUbVa = requires(const H& h) { h.ub_ldst_va(); };
template <typename H>
concept HasRecord = requires(const H& h) { h.record_; };

TEST(RemoteBufferHandle, PublicSurfaceHasNoTransportKeys) {
  static_assert(!HasRemoteAddr<RemoteBufferHandle>);
  static_assert(!HasRkey<RemoteBufferHandle>);
  static_assert(!HasUbVa<RemoteBufferHandle>);
  static_assert(!HasRecord<RemoteBufferHandle>);
  static_assert(!std::is_constructible_v<RemoteBufferHandle, std::shared_ptr<RemoteBufferRecord>>);
  // The only user-constructible handle is the empty one, which every use refuses.
  const RemoteBufferHandle empty;
  EXPECT_FALSE(empty);
  EXPECT_THROW((void)empty.nbytes(), std::invalid_argument);
  EXPECT_THROW(RemoteTensorRef(empty, 0, {1}, DataType::UINT8), std::invalid_argument);
  // Error messages name the rule, never profile data.
  auto id = owner_id();
  id.remote_addr = 0x7f00deadbeef;
  id.rkey_or_token = 0x1234567;
  const RemoteBufferHandle h = handle_of(id);
  std::string err;
  try {
    RemoteTensorRef(h, 4090, {8}, DataType::UINT8);
  } catch (const std::out_of_range& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("does not fit"), std::string::npos) << err;
  EXPECT_EQ(err.find("7f00deadbeef"), std::string::npos) << err;
  EXPECT_EQ(err.find(std::to_string(0x7f00deadbeef)), std::string::npos) << err;
}

TEST(RemoteBufferHandle, RecordSendsAFreeOnceAfterTheLastReference) {
  RemoteBufferRecord r(owner_id());
  ASSERT_TRUE(r.capture_ref());
  EXPECT_TRUE(r.release());
  EXPECT_FALSE(r.release()) << "a second release is a no-op";
  EXPECT_FALSE(r.capture_ref()) << "no new use after release";
  EXPECT_FALSE(r.claim_due_free()) << "a slot still holds the buffer";
  EXPECT_TRUE(r.drop_ref()) << "the last drop makes the free due";
  EXPECT_TRUE(r.claim_due_free());
  EXPECT_FALSE(r.claim_due_free()) << "already being sent";
  r.finish_free(false);
  EXPECT_TRUE(r.free_owed()) << "a refused free stays owed";
  EXPECT_TRUE(r.claim_due_free());
  r.finish_free(true);
  EXPECT_FALSE(r.free_owed());
  EXPECT_FALSE(r.claim_due_free());
}

TEST(RemoteTaskArgs, SidecarSlotsFollowTensors) {
  const RemoteBufferHandle h = handle_of(owner_id());
  BufferDescriptor local = make_address_descriptor(BackendKind::FORK_SHM, AddressSpace::HOST, AccessMode::READWRITE,
                                                   new_local_identity(), 64, 0x1000);
  TaskArgs plain;
  plain.input(Tensor::view(local, 0, {4}, DataType::UINT8));
  EXPECT_TRUE(plain.remote().empty()) << "local arguments keep the sidecar empty";
  const std::byte bytes[4]{std::byte{9}, std::byte{8}, std::byte{7}, std::byte{6}};
  TaskArgs a;
  a.input(Tensor::view(local, 0, {4}, DataType::UINT8))
      .inout(RemoteTensorRef(h, 100, {2}, DataType::INT16))
      .input(RemoteTensorRef::host_inline(bytes, {4}, DataType::UINT8))
      .input(Tensor::view(local, 8, {4}, DataType::UINT8));
  ASSERT_EQ(a.remote().descs.size(), 4u);
  ASSERT_EQ(a.remote().handles.size(), 4u);
  EXPECT_FALSE(a.remote().has(0));
  EXPECT_FALSE(a.remote().has(3));
  const RemoteTensorDesc& d = *a.remote().descs[1];
  EXPECT_EQ(d.offset, 100u);
  EXPECT_EQ(d.nbytes, 4u);
  EXPECT_EQ(d.buffer_id, 7u);
  EXPECT_EQ(d.access_flags, REMOTE_ACCESS_READ_WRITE);
  EXPECT_TRUE(a.remote().handles[1]);
  EXPECT_EQ(a.tensor(1).buffer.nbytes, 4u);
  EXPECT_EQ(a.remote().inline_arena, (std::vector<uint8_t>{9, 8, 7, 6}));
  EXPECT_FALSE(a.remote().handles[2]);
  // An imported view keeps the owner's identity in its placeholder.
  const RemoteBufferHandle imp = handle_of(import_id());
  TaskArgs b;
  b.input(RemoteTensorRef(imp, 16, {4}, DataType::UINT8));
  EXPECT_EQ(b.remote().descs[0]->offset, 1024u + 16u);
  EXPECT_EQ(b.tensor(0).buffer.identity.owner_instance_id, (std::array<uint8_t, 8>{3}));
  EXPECT_EQ(b.tensor(0).buffer.address_space, AddressSpace::HOST);
  // The inline arena is bounded per task.
  std::vector<std::byte> half(MAX_INLINE_ARENA_BYTES / 2 + 1);
  TaskArgs c;
  c.input(RemoteTensorRef::host_inline(half, {static_cast<uint32_t>(half.size())}, DataType::UINT8));
  EXPECT_THROW(c.input(RemoteTensorRef::host_inline(half, {static_cast<uint32_t>(half.size())}, DataType::UINT8)),
               std::invalid_argument);
  EXPECT_EQ(c.tensor_count(), 1u) << "a refused add appends nothing";
}
