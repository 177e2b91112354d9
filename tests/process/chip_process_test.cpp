// A level-3 node with simulated chip children running kernels from the bundled kernel library
// (runtime.md RT-1004, callables.md 9.2), next to SUB children, all real processes.
#include <gtest/gtest.h>

#include "../runtime/test_support.h"
#include "chip/kernels/kernel_files.h"
#include "process_support.h"

using namespace echelon;
using namespace echelon::testing;

namespace {

void sum_floats(const SubCall& c) {
  const float* v = c.data_as<float>(0);
  double s = 0;
  for (uint64_t i = 0; i < c.args().tensor(0).numel(); ++i) s += v[i];
  *c.data_as<double>(1) = s;
}

ChipCallable kernel(const char* name) { return ChipCallable::from_file(kernels::kernel_file(name)); }

}  // namespace

TEST(ProcessChip, L3DagEndToEnd) {
  constexpr uint32_t n = 4096, half = n / 2;
  HostBuffer a(n * 4), b(n * 4), c(n * 4), sums(2 * 8);
  for (uint32_t i = 0; i < n; ++i) {
    a.data_as<float>()[i] = static_cast<float>(i % 13);
    b.data_as<float>()[i] = 0.5f * static_cast<float>(i % 7);
  }
  Worker w(3, quick_options());
  const WorkerId chip0 = w.add_chip(), chip1 = w.add_chip();
  w.add_sub();
  w.add_sub();
  auto vadd = w.register_callable(kernel("vadd"));
  auto scale = w.register_callable(kernel("scale"));
  auto sum = w.register_callable(NativeCallable::inproc("test.chip.sum", SubFn(sum_floats)));
  w.init();
  EXPECT_EQ(w.child_pids().size(), 4u);
  w.run([&](Orchestrator& o) {
    for (uint32_t h = 0; h < 2; ++h) {
      const uint64_t off = uint64_t{h} * half * 4;
      const WorkerId chip = h == 0 ? chip0 : chip1;
      o.submit_next_level(vadd,
                          TaskArgs()
                              .input(a.view(off, {half}, DataType::FLOAT32))
                              .input(b.view(off, {half}, DataType::FLOAT32))
                              .output_existing(c.view(off, {half}, DataType::FLOAT32)),
                          {}, chip);
      o.submit_next_level(scale, TaskArgs().inout(c.view(off, {half}, DataType::FLOAT32)).scalar(3.0f), {}, chip);
      o.submit_sub(sum, TaskArgs().input(c.view(off, {half}, DataType::FLOAT32)).output_existing(sums.view(h * 8, {1}, DataType::UINT64)));
    }
  });
  for (uint32_t h = 0; h < 2; ++h) {
    double ref = 0;
    for (uint32_t i = h * half; i < (h + 1) * half; ++i) {
      const float expect = 3.0f * (a.data_as<float>()[i] + b.data_as<float>()[i]);
      ASSERT_EQ(c.data_as<float>()[i], expect) << i;
      ref += expect;
    }
    EXPECT_DOUBLE_EQ(sums.data_as<double>()[h], ref);
  }
}

TEST(ProcessChip, DeviceArenaRoundTrip) {
  constexpr uint32_t m = 4, k = 3, n = 5;
  Worker w(3, quick_options());
  const WorkerId chip0 = w.add_chip(), chip1 = w.add_chip();
  auto gemm = w.register_callable(kernel("gemm"));
  w.init();
  const BufferDescriptor da = w.chip_malloc(chip0, m * k * 4), db = w.chip_malloc(chip0, k * n * 4),
                         dc = w.chip_malloc(chip0, m * n * 4);
  std::vector<float> A(m * k), B(k * n), C(m * n, -1.f);
  for (uint32_t i = 0; i < m * k; ++i) A[i] = static_cast<float>(i + 1);
  for (uint32_t i = 0; i < k * n; ++i) B[i] = static_cast<float>(i % 4) - 1.0f;
  w.copy_to_chip(da, 0, A.data(), A.size() * 4);
  w.copy_to_chip(db, 0, B.data(), B.size() * 4);
  auto args = [&] {
    return TaskArgs()
        .input(Tensor::view(da, 0, {m, k}, DataType::FLOAT32))
        .input(Tensor::view(db, 0, {k, n}, DataType::FLOAT32))
        .output_existing(Tensor::view(dc, 0, {m, n}, DataType::FLOAT32));
  };
  w.run([&](Orchestrator& o) { o.submit_next_level(gemm, args(), {}, chip0); });
  w.copy_from_chip(C.data(), dc, 0, C.size() * 4);
  for (uint32_t i = 0; i < m; ++i)
    for (uint32_t j = 0; j < n; ++j) {
      float ref = 0;
      for (uint32_t q = 0; q < k; ++q) ref += A[i * k + q] * B[q * n + j];
      EXPECT_EQ(C[i * n + j], ref) << i << "," << j;
    }
  // Device memory of chip 0 is eligible only on chip 0.
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_next_level(gemm, args(), {}, chip1); }); });
  EXPECT_NE(err.find("device memory of chip 0"), std::string::npos) << err;
  // A forged descriptor naming chip 0 but pointing elsewhere never reaches memcpy.
  BufferDescriptor forged = da;
  const uint64_t elsewhere = reinterpret_cast<uint64_t>(C.data());
  std::memcpy(forged.body, &elsewhere, sizeof elsewhere);
  const std::string forged_err = what_of([&] { w.copy_to_chip(forged, 0, A.data(), 4); });
  EXPECT_NE(forged_err.find("does not lie inside chip 0's arena"), std::string::npos) << forged_err;
  w.chip_free(da);
  EXPECT_THROW(w.chip_free(da), Error);
}

TEST(ProcessChip, KernelErrorIsTaskFailure) {
  HostBuffer x(64);
  Worker w(3, quick_options());
  const WorkerId chip = w.add_chip();
  auto fail = w.register_callable(kernel("fail"));
  w.init();
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_next_level(fail, TaskArgs(), {}, chip); }); });
  EXPECT_NE(err.find("TASK_FAILURE"), std::string::npos) << err;
  EXPECT_NE(err.find("level=2"), std::string::npos) << err;
  EXPECT_TRUE(w.health(chip).ready) << "a kernel error is not an endpoint failure";
}

TEST(ProcessChip, KernelsAreNotSubCallablesAndNeedChips) {
  Worker w(3, quick_options());
  w.add_chip();
  w.add_sub();
  auto vadd = w.register_callable(kernel("vadd"));
  w.init();
  const std::string err = what_of([&] { w.run([&](Orchestrator& o) { o.submit_sub(vadd, TaskArgs()); }); });
  EXPECT_NE(err.find("SUB tasks run sub entries"), std::string::npos) << err;
  Worker no_chips(3, quick_options());
  no_chips.add_sub();
  EXPECT_EQ(what_of([&] { no_chips.register_callable(kernel("vadd")); }).rfind("CALLABLE_KIND_UNSUPPORTED", 0), 0u);
  Worker l4(4, quick_options());
  EXPECT_THROW(l4.add_chip(), UsageError);
}

TEST(ProcessChip, PostInitRegisterThenUnregister) {
  constexpr uint32_t n = 256;
  HostBuffer v(n * 4);
  for (uint32_t i = 0; i < n; ++i) v.data_as<float>()[i] = static_cast<float>(i);
  Worker w(3, quick_options());
  const WorkerId chip0 = w.add_chip(), chip1 = w.add_chip();
  w.init();
  auto scale = w.register_callable(kernel("scale"));  // both chips load it before this returns
  w.run([&](Orchestrator& o) {
    o.submit_next_level(scale, TaskArgs().inout(v.view(0, {n / 2}, DataType::FLOAT32)).scalar(2.0f), {}, chip0);
    o.submit_next_level(scale, TaskArgs().inout(v.view(n * 2, {n / 2}, DataType::FLOAT32)).scalar(2.0f), {}, chip1);
  });
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(v.data_as<float>()[i], 2.0f * static_cast<float>(i)) << i;
  w.unregister(scale);
  const std::string err = what_of([&] {
    w.run([&](Orchestrator& o) { o.submit_next_level(scale, TaskArgs().inout(v.view(0, {4}, DataType::FLOAT32)).scalar(1.0f), {}, chip0); });
  });
  EXPECT_EQ(err.rfind("UNREGISTER_TOMBSTONE_ACTIVE", 0), 0u) << err;
}
