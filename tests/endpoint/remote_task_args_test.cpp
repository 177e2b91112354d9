// TASK arguments of a remote endpoint (buffers.md 4 "Endpoint side", protocol.md 6.1-6.4): each
// placeholder travels verbatim with its sidecar as a RemoteTensorDescWire; local backings and
// placeholders without a sidecar are refused before anything is encoded.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "echelon/errors.h"
#include "endpoint/remote_task_args.h"
#include "wire/task_payload.h"

namespace echelon {
namespace {

struct Request {
  CallableIdentity callable;
  CallConfig config;
  std::vector<Tensor> tensors;
  std::vector<uint64_t> scalars{42};
  RemoteArgs remote;
  bool with_remote = true;

  DispatchRequest view() const {
    DispatchRequest r;
    r.dispatch_id = 1;
    r.callable = &callable;
    r.config = &config;
    r.tensors = &tensors;
    r.scalars = &scalars;
    r.remote = with_remote ? &remote : nullptr;
    return r;
  }
};

RemoteTensorDesc device_desc(uint64_t nbytes) {
  RemoteTensorDesc d;
  d.address_space = RemoteSpace::REMOTE_DEVICE;
  d.owner_worker_id = 1;
  d.buffer_id = 7;
  d.generation = 3;
  d.offset = 8;
  d.nbytes = nbytes;
  d.rkey_or_token = 0x99;
  d.access_flags = REMOTE_ACCESS_READ_WRITE;
  return d;
}

RemoteTensorDesc inline_desc(uint64_t offset, uint64_t nbytes) {
  RemoteTensorDesc d;
  d.address_space = RemoteSpace::HOST_INLINE;
  d.nbytes = nbytes;
  d.inline_offset = offset;
  d.inline_len = nbytes;
  return d;
}

// What the runtime builds for `d` (the wire's own placeholder conventions).
Tensor placeholder(const RemoteTensorDesc& d, std::vector<uint32_t> shape) {
  return wire::remote_placeholder(to_wire_desc(d), shape, DataType::UINT8);
}

std::string submit_error(const Request& r) {
  try {
    (void)remote_task_payload(r.view());
  } catch (const SubmitError& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(RemoteTaskArgs, DescriptorFieldsCarryOverOneToOne) {
  RemoteTensorDesc d = device_desc(16);
  d.remote_addr = 0x1234;
  const wire::RemoteTensorDescWire w = to_wire_desc(d);
  EXPECT_EQ(w.address_space, wire::RemoteAddressSpace::REMOTE_DEVICE);
  EXPECT_EQ(w.owner_worker_id, 1);
  EXPECT_EQ(w.buffer_id, 7u);
  EXPECT_EQ(w.generation, 3u);
  EXPECT_EQ(w.offset, 8u);
  EXPECT_EQ(w.nbytes, 16u);
  EXPECT_EQ(w.remote_addr, 0x1234u);
  EXPECT_EQ(w.rkey_or_token, 0x99u);
  EXPECT_EQ(w.flags, 0u);
  const wire::RemoteTensorDescWire i = to_wire_desc(inline_desc(4, 2));
  EXPECT_EQ(i.address_space, wire::RemoteAddressSpace::HOST_INLINE);
  EXPECT_EQ(i.inline_payload_offset, 4u);
  EXPECT_EQ(i.inline_payload_len, 2u);
  EXPECT_EQ(to_wire_desc(RemoteTensorDesc{.address_space = RemoteSpace::REMOTE_WINDOW}).address_space,
            wire::RemoteAddressSpace::REMOTE_WINDOW);
}

TEST(RemoteTaskArgs, DeviceAndInlineArgumentsRoundTrip) {
  Request r;
  const RemoteTensorDesc dev = device_desc(16), inl = inline_desc(0, 4);
  r.tensors = {placeholder(dev, {4, 4}), placeholder(inl, {4})};
  r.remote.descs = {dev, inl};
  r.remote.inline_arena = {1, 2, 3, 4};
  r.callable.digest[0] = 0xab;
  const wire::TaskPayload task = remote_task_payload(r.view());
  const wire::TaskPayload back = wire::decode_task(wire::encode_task(task));
  EXPECT_EQ(back, task);
  ASSERT_EQ(back.args.tensors.size(), 2u);
  EXPECT_EQ(back.args.tensors[0].buffer, r.tensors[0].buffer);  // the placeholder, verbatim
  ASSERT_TRUE(back.args.remote_desc[0].has_value());
  EXPECT_EQ(*back.args.remote_desc[0], to_wire_desc(dev));
  EXPECT_EQ(*back.args.remote_desc[1], to_wire_desc(inl));
  EXPECT_EQ(back.args.inline_payload, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(back.args.scalars, (std::vector<uint64_t>{42}));
  EXPECT_EQ(back.callable_digest[0], 0xab);
}

TEST(RemoteTaskArgs, ScalarOnlyTaskNeedsNoSidecar) {
  Request r;
  r.with_remote = false;
  const wire::TaskPayload task = remote_task_payload(r.view());
  EXPECT_TRUE(task.args.tensors.empty());
  EXPECT_EQ(task.args.scalars, (std::vector<uint64_t>{42}));
}

TEST(RemoteTaskArgs, LocalBackingRefused) {
  Request r;
  BufferDescriptor b;
  b.magic = BufferDescriptor::MAGIC;
  b.access = AccessMode::READWRITE;
  b.backend_kind = BackendKind::POSIX_SHM;  // a shm name means nothing on another host
  b.identity.generation = 1;
  b.nbytes = 16;
  b.body_len = 3;
  b.body[0] = 'a', b.body[1] = 'b', b.body[2] = 'c';
  r.tensors = {Tensor::view(b, 0, {16}, DataType::UINT8)};
  r.remote.descs = {device_desc(16)};  // even with a sidecar: the backing itself is refused
  const std::string err = submit_error(r);
  EXPECT_TRUE(contains(err, "a remote task argument must carry no local backing")) << err;
  EXPECT_TRUE(contains(err, "tensor 0")) << err;
  EXPECT_TRUE(contains(err, "POSIX_SHM")) << err;
}

TEST(RemoteTaskArgs, UnboundTensorRefused) {
  Request r;
  r.tensors = {Tensor::unbound({4}, DataType::UINT8)};
  const std::string err = submit_error(r);
  EXPECT_TRUE(contains(err, "a remote task argument must carry no local backing")) << err;
}

TEST(RemoteTaskArgs, PlaceholderWithoutSidecarRefused) {
  const RemoteTensorDesc dev = device_desc(16);
  Request r;
  r.tensors = {placeholder(dev, {16}), placeholder(dev, {16})};
  r.remote.descs = {dev};  // tensor 1 has no slot
  std::string err = submit_error(r);
  EXPECT_TRUE(contains(err, "tensor 1: tensor submitted without remote sidecar")) << err;
  r.remote.descs = {dev, std::nullopt};  // a slot, but empty
  err = submit_error(r);
  EXPECT_TRUE(contains(err, "tensor 1: tensor submitted without remote sidecar")) << err;
  r.with_remote = false;  // no sidecar at all
  err = submit_error(r);
  EXPECT_TRUE(contains(err, "tensor 0: tensor submitted without remote sidecar")) << err;
}

TEST(RemoteTaskArgs, SidecarThatDisagreesWithPlaceholderRefused) {
  const RemoteTensorDesc dev = device_desc(16);
  RemoteTensorDesc other = dev;
  other.buffer_id = 8;
  Request r;
  r.tensors = {placeholder(dev, {16})};
  r.remote.descs = {other};
  std::string err = submit_error(r);
  EXPECT_TRUE(contains(err, "does not match its remote sidecar")) << err;
  other = dev;
  other.generation = 4;
  r.remote.descs = {other};
  err = submit_error(r);
  EXPECT_TRUE(contains(err, "generation")) << err;
  other = dev;
  other.nbytes = 32;
  r.remote.descs = {other};
  err = submit_error(r);
  EXPECT_TRUE(contains(err, "nbytes")) << err;
}

TEST(RemoteTaskArgs, MoreSidecarsThanTensorsRefused) {
  Request r;
  r.remote.descs = {device_desc(16)};
  const std::string err = submit_error(r);
  EXPECT_TRUE(contains(err, "1 remote sidecars for 0 tensor arguments")) << err;
}

TEST(RemoteTaskArgs, InlineSliceOutsideArenaRefused) {
  const RemoteTensorDesc inl = inline_desc(2, 4);
  Request r;
  r.tensors = {placeholder(inl, {4})};
  r.remote.descs = {inl};
  r.remote.inline_arena = {1, 2, 3, 4};  // offset 2 + 4 bytes runs past the 4-byte arena
  const std::string err = submit_error(r);
  EXPECT_TRUE(contains(err, "TASK payload")) << err;
  EXPECT_TRUE(contains(err, "remote_desc[0]")) << err;
}

}  // namespace
}  // namespace echelon
