// run_kernel: the bundled kernels against CPU references, error text handling and binding checks.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>

#include "chip/device_arena.h"
#include "chip/kernel_call.h"
#include "chip/private_dir.h"
#include "chip_test_support.h"

namespace echelon::chip {
namespace {

using testing::HostFloats;

class ChipKernelRun : public ::testing::Test {
 protected:
  LoadedKernel load(const std::string& name) {
    const auto blob = testing::kernel_blob(name);
    return load_kernel(blob, sha256(blob), dir_.path());
  }
  // Runs a tensor-less kernel whose one scalar is `scalar` (the fail kernel's mode); expects failure.
  std::string failure_of(const std::string& name, uint64_t scalar) {
    const LoadedKernel kernel = load(name);
    const uint64_t scalars[] = {scalar};
    const KernelOutcome out = run_kernel(kernel, {}, scalars, config_);
    EXPECT_FALSE(out.ok);
    return out.message;
  }
  static void fill(HostFloats& h, float seed) {
    for (size_t i = 0; i < h.values().size(); ++i) h[i] = seed + 0.25f * static_cast<float>(i % 17) - static_cast<float>(i % 5);
  }
  PrivateDir dir_;  // outlives the kernels loaded into it
  CallConfig config_;
};

uint64_t float_bits(float f) { return std::bit_cast<uint32_t>(f); }

// Checks row-major C[MxN] against a CPU product of row-major A[MxK] and B read through b_at(k, j).
template <typename BAt>
void expect_gemm_matches_cpu(HostFloats& a, BAt b_at, HostFloats& c, uint32_t M, uint32_t K, uint32_t N) {
  for (uint32_t i = 0; i < M; ++i)
    for (uint32_t j = 0; j < N; ++j) {
      float ref = 0.0f;
      for (uint32_t k = 0; k < K; ++k) ref += a[i * K + k] * b_at(k, j);
      EXPECT_FLOAT_EQ(c[i * N + j], ref) << i << "," << j;
    }
}

TEST_F(ChipKernelRun, VectorAddMatchesCpu) {
  const LoadedKernel vadd = load("vadd");
  constexpr uint32_t n = 1000;
  HostFloats a(n), b(n), c(n);
  fill(a, 1.5f);
  fill(b, -3.0f);
  const Tensor args[] = {a.view({n}), b.view({n}), c.view({n})};
  const KernelOutcome out = run_kernel(vadd, args, {}, config_);
  ASSERT_TRUE(out.ok) << out.message;
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(c[i], a[i] + b[i]) << "element " << i;
}

TEST_F(ChipKernelRun, VectorAddHonoursStrides) {
  const LoadedKernel vadd = load("vadd");
  // Three 3x4 views with different row and column strides and a non-zero offset.
  HostFloats a(64), b(64), c(64);
  fill(a, 2.0f);
  fill(b, 7.0f);
  const Tensor args[] = {a.view({3, 4}, {16, 2}), b.view({3, 4}, {4, 1}, 5), c.view({3, 4}, {8, 1})};
  const KernelOutcome out = run_kernel(vadd, args, {}, config_);
  ASSERT_TRUE(out.ok) << out.message;
  for (uint32_t r = 0; r < 3; ++r)
    for (uint32_t k = 0; k < 4; ++k) EXPECT_EQ(c[r * 8 + k], a[r * 16 + k * 2] + b[5 + r * 4 + k]) << r << "," << k;
  EXPECT_EQ(c[4], 0.0f) << "bytes between rows of c are not part of the view";
}

TEST_F(ChipKernelRun, ScaleInPlaceMatchesCpu) {
  const LoadedKernel scale = load("scale");
  HostFloats x(40);
  fill(x, 0.5f);
  const std::vector<float> before = x.values();
  const float alpha = -2.5f;
  const Tensor args[] = {x.view({4, 3}, {10, 2})};  // a strided 4x3 window
  const uint64_t scalars[] = {float_bits(alpha)};
  const KernelOutcome out = run_kernel(scale, args, scalars, config_);
  ASSERT_TRUE(out.ok) << out.message;
  for (uint32_t i = 0; i < 40; ++i) {
    const bool in_view = i % 10 % 2 == 0 && i % 10 < 6;
    EXPECT_EQ(x[i], in_view ? alpha * before[i] : before[i]) << "element " << i;
  }
}

TEST_F(ChipKernelRun, GemmNonSquareMatchesCpu) {
  const LoadedKernel gemm = load("gemm");
  constexpr uint32_t M = 5, K = 7, N = 3;
  HostFloats a(M * K), b(K * N), c(M * N);
  fill(a, 1.0f);
  fill(b, -0.5f);
  const Tensor args[] = {a.view({M, K}), b.view({K, N}), c.view({M, N})};
  const KernelOutcome out = run_kernel(gemm, args, {}, config_);
  ASSERT_TRUE(out.ok) << out.message;
  expect_gemm_matches_cpu(a, [&](uint32_t k, uint32_t j) { return b[k * N + j]; }, c, M, K, N);
}

TEST_F(ChipKernelRun, GemmTransposedViewMatchesCpu) {
  const LoadedKernel gemm = load("gemm");
  constexpr uint32_t M = 2, K = 3, N = 4;
  HostFloats a(M * K), bt(N * K), c(M * N);  // B given as its transpose, read with swapped strides
  fill(a, 3.0f);
  fill(bt, 1.0f);
  const Tensor args[] = {a.view({M, K}), bt.view({K, N}, {1, K}), c.view({M, N})};
  const KernelOutcome out = run_kernel(gemm, args, {}, config_);
  ASSERT_TRUE(out.ok) << out.message;
  expect_gemm_matches_cpu(a, [&](uint32_t k, uint32_t j) { return bt[j * K + k]; }, c, M, K, N);
}

TEST_F(ChipKernelRun, GemmShapeMismatchReturnsError) {
  const LoadedKernel gemm = load("gemm");
  HostFloats a(12), b(10), c(8);
  const Tensor args[] = {a.view({3, 4}), b.view({5, 2}), c.view({3, 2})};
  const KernelOutcome out = run_kernel(gemm, args, {}, config_);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.message, "gemm: A is 3x4 but B is 5x2 (inner dimensions differ)");
}

TEST_F(ChipKernelRun, KernelRejectsWrongDtype) {
  const LoadedKernel vadd = load("vadd");
  HostFloats a(4), b(4), c(4);
  const Tensor ints = Tensor::view(a.view({4}).buffer, 0, {4}, DataType::INT32);
  const Tensor args[] = {ints, b.view({4}), c.view({4})};
  const KernelOutcome out = run_kernel(vadd, args, {}, config_);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "vadd: a has dtype 2, expected FLOAT32");
}

TEST_F(ChipKernelRun, KernelErrorMessageSurfaces) {
  EXPECT_EQ(failure_of("fail", 0), "fail kernel: deliberate failure");
}

TEST_F(ChipKernelRun, EmptyKernelErrorNamesReturnCode) {
  EXPECT_EQ(failure_of("fail", 1), "kernel returned 42");
}

TEST_F(ChipKernelRun, UnterminatedKernelErrorCutOnUtf8Boundary) {
  const std::string message = failure_of("fail", 2);
  // 'x' plus 1364 whole three-byte characters; the partial one at the buffer's end is dropped.
  ASSERT_EQ(message.size(), 1u + 3u * 1364u);
  EXPECT_EQ(message[0], 'x');
  EXPECT_EQ(message.substr(message.size() - 3), "\xE2\x82\xAC");
}

TEST_F(ChipKernelRun, ThrowingCppKernelBecomesError) {
  EXPECT_EQ(failure_of("throw", 0), "kernel threw: throw kernel: deliberate exception");
}

TEST_F(ChipKernelRun, WrongTensorCountRejectedWithoutCall) {
  const LoadedKernel vadd = load("vadd");
  HostFloats a(4), b(4);
  const Tensor args[] = {a.view({4}), b.view({4})};
  const KernelOutcome out = run_kernel(vadd, args, {}, config_);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "takes 3 tensors and 0 scalars, the task passed 2 tensors and 0 scalars");
}

TEST_F(ChipKernelRun, WrongScalarCountRejectedWithoutCall) {
  const LoadedKernel scale = load("scale");
  HostFloats x(4);
  fill(x, 1.0f);
  const std::vector<float> before = x.values();
  const Tensor args[] = {x.view({4})};
  const KernelOutcome out = run_kernel(scale, args, {}, config_);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "takes 1 tensors and 1 scalars, the task passed 1 tensors and 0 scalars");
  EXPECT_EQ(x.values(), before);
}

TEST_F(ChipKernelRun, ReadOnlyTensorBoundToOutRejected) {
  const LoadedKernel vadd = load("vadd");
  HostFloats a(4), b(4), c(4, AccessMode::READ);
  const Tensor args[] = {a.view({4}), b.view({4}), c.view({4})};
  const KernelOutcome out = run_kernel(vadd, args, {}, config_);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "tensor 2 binds to signature entry 2 (OUT), which needs a WRITE grant, but the tensor "
                               "grants READ");
}

TEST_F(ChipKernelRun, WriteOnlyTensorBoundToInRejected) {
  const LoadedKernel vadd = load("vadd");
  HostFloats a(4), b(4, AccessMode::WRITE), c(4);
  const Tensor args[] = {a.view({4}), b.view({4}), c.view({4})};
  const KernelOutcome out = run_kernel(vadd, args, {}, config_);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "tensor 1 binds to signature entry 1 (IN), which needs a READ grant");
}

TEST_F(ChipKernelRun, InoutNeedsReadWriteGrant) {
  const LoadedKernel scale = load("scale");
  HostFloats x(4, AccessMode::WRITE);
  const Tensor args[] = {x.view({4})};
  const uint64_t scalars[] = {float_bits(2.0f)};
  const KernelOutcome out = run_kernel(scale, args, scalars, config_);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "tensor 0 binds to signature entry 0 (INOUT), which needs a READWRITE grant");
}

TEST_F(ChipKernelRun, ResolverFailureNamesTensor) {
  const LoadedKernel vadd = load("vadd");
  HostFloats a(4), b(4), c(4);
  const Tensor args[] = {a.view({4}), b.view({4}), c.view({4})};
  const AddressResolver refuse_b = [&](const Tensor& t) -> void* {
    if (t.buffer.identity == args[1].buffer.identity) throw std::runtime_error("not mapped here");
    return t.data();
  };
  const KernelOutcome out = run_kernel(vadd, args, {}, config_, refuse_b);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "tensor 1: not mapped here");
}

TEST_F(ChipKernelRun, InvalidCallConfigRejected) {
  const LoadedKernel fail = load("fail");
  CallConfig bad;
  bad.enable_pmu = 1;  // diagnostics without an output prefix
  const uint64_t mode[] = {1};
  const KernelOutcome out = run_kernel(fail, {}, mode, bad);
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, "call config:");
}

TEST_F(ChipKernelRun, DeviceTensorsRunInArena) {
  const LoadedKernel vadd = load("vadd");
  DeviceArena arena(1 << 16, 3);
  constexpr uint32_t n = 300;
  const BufferDescriptor da = arena.alloc(n * 4), db = arena.alloc(n * 4), dc = arena.alloc(n * 4);
  auto* a = reinterpret_cast<float*>(da.base_address());
  auto* b = reinterpret_cast<float*>(db.base_address());
  for (uint32_t i = 0; i < n; ++i) a[i] = static_cast<float>(i), b[i] = 0.5f * static_cast<float>(i);
  const Tensor args[] = {Tensor::view(da, 0, {n}, DataType::FLOAT32), Tensor::view(db, 0, {n}, DataType::FLOAT32),
                         Tensor::view(dc, 0, {n}, DataType::FLOAT32)};
  const KernelOutcome out = run_kernel(vadd, args, {}, config_, [&](const Tensor& t) { return arena.resolve(t); });
  ASSERT_TRUE(out.ok) << out.message;
  const auto* c = reinterpret_cast<const float*>(dc.base_address());
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(c[i], 1.5f * static_cast<float>(i));
}

}  // namespace
}  // namespace echelon::chip
