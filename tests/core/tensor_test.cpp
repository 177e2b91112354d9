#include <gtest/gtest.h>

#include "echelon/call_config.h"
#include "echelon/errors.h"
#include "echelon/task_args.h"
#include "echelon/tensor.h"

using namespace echelon;

namespace {
alignas(64) uint8_t g_bytes[4096];

BufferDescriptor host_buffer(uint64_t nbytes = sizeof g_bytes, AccessMode access = AccessMode::READWRITE,
                             BackendKind kind = BackendKind::FORK_SHM) {
  return make_address_descriptor(kind, AddressSpace::HOST, access, new_local_identity(), nbytes,
                                 reinterpret_cast<uint64_t>(g_bytes));
}

void expect_rejected(const Tensor& t, const std::string& field) {
  try {
    t.validate();
    FAIL() << "expected rejection naming " << field;
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(DataTypeTest, ValuesAndSizesAreStable) {
  EXPECT_EQ(static_cast<int>(DataType::FLOAT32), 0);
  EXPECT_EQ(static_cast<int>(DataType::FP4E2M1), 14);
  EXPECT_EQ(DATA_TYPE_NUM, 15u);
  const size_t sizes[] = {4, 2, 4, 2, 1, 1, 2, 8, 8, 2, 4, 1, 1, 1, 1};
  for (uint32_t i = 0; i < DATA_TYPE_NUM; ++i) EXPECT_EQ(element_size(static_cast<DataType>(i)), sizes[i]) << i;
  EXPECT_FALSE(is_valid(static_cast<DataType>(15)));
  EXPECT_EQ(element_size(static_cast<DataType>(15)), 0u);
}

TEST(TensorTest, RowMajorViewHasExpectedGeometry) {
  Tensor t = Tensor::view(host_buffer(), 64, {4, 8}, DataType::FLOAT32);
  EXPECT_EQ(t.ndims, 2u);
  EXPECT_EQ(t.strides[0], 8u);
  EXPECT_EQ(t.strides[1], 1u);
  EXPECT_EQ(t.extent_bytes(), 4u * 8 * 4);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.data(), reinterpret_cast<std::byte*>(g_bytes + 64));
}

TEST(TensorTest, ValidateRejectsEachBadField) {
  Tensor good = Tensor::view(host_buffer(256), 0, {4, 4}, DataType::FLOAT32);
  Tensor t = good;
  t.ndims = 0;
  expect_rejected(t, "ndims");
  t = good;
  t.ndims = 6;
  expect_rejected(t, "ndims");
  t = good;
  t.dtype = static_cast<DataType>(99);
  expect_rejected(t, "dtype");
  t = good;
  t.byte_offset = 2;
  expect_rejected(t, "byte_offset");
  t = good;
  t.shapes[1] = 0;
  expect_rejected(t, "shapes[1]");
  t = good;
  t.strides[0] = 0;
  expect_rejected(t, "strides[0]");
  t = good;
  t.shapes[3] = 7;
  expect_rejected(t, "past ndims");
  t = good;
  t.shapes[0] = 0xFFFFFFFF;
  t.strides[0] = 0xFFFFFFFF;
  t.ndims = 5;
  for (int i = 1; i < 5; ++i) t.shapes[i] = t.strides[i] = 0xFFFFFFFF;
  expect_rejected(t, "saturates");
  t = good;
  t.byte_offset = 4;  // 4 + 64 > 64? backing is 256: push past it
  t.shapes[0] = 16;
  expect_rejected(t, "exceeds backing nbytes");
  t = good;
  t.buffer.identity.generation = 0;
  expect_rejected(t, "generation");
  t = good;
  t.buffer.backend_kind = BackendKind::VMM_WINDOW;
  expect_rejected(t, "VMM_WINDOW");
  t = good;
  t.buffer.body[20] = 1;
  expect_rejected(t, "past body_len");
}

TEST(TensorTest, ForkCowGrantsReadOnly) {
  EXPECT_THROW(host_buffer(64, AccessMode::READWRITE, BackendKind::FORK_COW), ValidationError);
  EXPECT_NO_THROW(host_buffer(64, AccessMode::READ, BackendKind::FORK_COW));
}

TEST(TensorTest, BackingIdentityDefinesSameness) {
  BufferDescriptor a = host_buffer(), b = host_buffer();
  EXPECT_FALSE(a.identity == b.identity) << "two allocations at one address are still distinct backings";
  BufferDescriptor a2 = a;
  EXPECT_TRUE(a2.identity == a.identity);
  a2.identity.reserved_[3] = 9;  // padding never takes part
  EXPECT_TRUE(a2.identity == a.identity);
}

TEST(TensorTest, UnboundTensorValidatesGeometryOnly) {
  Tensor t = Tensor::unbound({3, 5}, DataType::INT16);
  EXPECT_FALSE(t.bound());
  EXPECT_NO_THROW(t.validate());
  EXPECT_THROW(t.data(), UsageError);
  EXPECT_THROW(Tensor::unbound({3, 0}, DataType::INT16), ValidationError);
}

TEST(TaskArgsTest, LimitsEnforcedAtBuildAndDecode) {
  TaskArgs a;
  Tensor t = Tensor::view(host_buffer(), 0, {1}, DataType::UINT8);
  for (size_t i = 0; i < MAX_TENSORS; ++i) a.input(t);
  EXPECT_THROW(a.input(t), ValidationError);
  for (size_t i = 0; i < MAX_SCALARS; ++i) a.scalar(i);
  EXPECT_THROW(a.scalar(1), ValidationError);
  EXPECT_THROW(TaskArgs::from_dispatched(std::vector<Tensor>(MAX_TENSORS + 1, t), {}), ValidationError);
  EXPECT_THROW(TaskArgs::from_dispatched({}, std::vector<uint64_t>(MAX_SCALARS + 1)), ValidationError);
  TaskArgs d = TaskArgs::from_dispatched({t}, {7});
  EXPECT_EQ(d.tag(0), TensorTag::NO_DEP);
}

TEST(TaskArgsTest, ScalarsPackAndUnpack) {
  TaskArgs a;
  a.scalar(-3).scalar(2.5f).scalar(uint64_t{1} << 40).scalar(1.25);
  EXPECT_EQ(a.scalar_as<int64_t>(0), -3);
  EXPECT_EQ(a.scalar_as<float>(1), 2.5f);
  EXPECT_EQ(a.scalar_bits(2), uint64_t{1} << 40);
  EXPECT_EQ(a.scalar_as<double>(3), 1.25);
}

TEST(CallConfigTest, ValidateRules) {
  CallConfig c;
  EXPECT_NO_THROW(c.validate());
  c.enable_pmu = 1;
  EXPECT_THROW(c.validate(), ValidationError) << "diagnostics need an output prefix";
  c.set_prefix("/tmp/trace");
  EXPECT_NO_THROW(c.validate());
  c.aicpu_thread_num = -1;
  EXPECT_THROW(c.validate(), ValidationError);
  c.aicpu_thread_num = 0;
  EXPECT_THROW(c.set_prefix(std::string(1024, 'x')), ValidationError);
  EXPECT_NO_THROW(c.set_prefix(std::string(1023, 'x')));
  std::memset(c.output_prefix, 'y', sizeof c.output_prefix);
  EXPECT_THROW(c.validate(), ValidationError);
}

TEST(ErrorsTest, TruncationIsUtf8Safe) {
  const std::string s = "ab\xE2\x82\xAC" "cd";  // "ab€cd", € is 3 bytes
  EXPECT_EQ(truncate_utf8(s, 100), s);
  EXPECT_EQ(truncate_utf8(s, 4), "ab");
  EXPECT_EQ(truncate_utf8(s, 5), "ab\xE2\x82\xAC");
  EXPECT_EQ(truncate_utf8(s, 2), "ab");
  EXPECT_EQ(truncate_utf8(s, 0), "");
}
