// ChipCallable identity (callables.md 2.2, CALL-4) and the chip-side registry that installs by it.
#include <gtest/gtest.h>

#include <filesystem>

#include "chip/chip_runtime.h"
#include "chip_test_support.h"
#include "echelon/chip_callable.h"

namespace echelon {
namespace {

using chip::testing::kernel_blob;

TEST(ChipCallable, IdentityIsDigestOfLocalDescriptor) {
  const ChipCallable c = ChipCallable::from_file(kernels::kernel_file("scale"));
  EXPECT_EQ(c.blob(), kernel_blob("scale"));
  EXPECT_EQ(c.blob_sha256(), sha256(c.blob()));
  EXPECT_EQ(c.signature(), (std::vector{ArgDirection::INOUT, ArgDirection::SCALAR}));
  const auto expected = chip_callable_descriptor(host_target_arch(), "sim", "simchip", sha256(c.blob()),
                                                 chip_signature_hash(c.signature()));
  EXPECT_EQ(c.descriptor(), expected);
  EXPECT_EQ(c.identity().digest, sha256(expected));
  EXPECT_EQ(c.identity().kind, CallableKind::CHIP_CALLABLE);
  EXPECT_EQ(c.identity().scope, TargetNamespace::LOCAL_CHIP);
  EXPECT_EQ(c.hashid(), to_hashid(sha256(expected)));
}

TEST(ChipCallable, StableForIdenticalBlob) {
  const ChipCallable a = ChipCallable::from_file(kernels::kernel_file("gemm"));
  const ChipCallable b = ChipCallable::from_bytes(kernel_blob("gemm"));
  EXPECT_EQ(a.descriptor(), b.descriptor());
  EXPECT_EQ(a.identity(), b.identity());
}

TEST(ChipCallable, DescriptorChangesWithBlobByte) {
  auto blob = kernel_blob("vadd");
  const ChipCallable original = ChipCallable::from_bytes(blob);
  blob.push_back(0);  // trailing bytes are ignored by the loader but are part of the blob
  const ChipCallable changed = ChipCallable::from_bytes(blob);
  EXPECT_EQ(original.signature(), changed.signature());
  EXPECT_NE(original.blob_sha256(), changed.blob_sha256());
  EXPECT_NE(original.descriptor(), changed.descriptor());
  EXPECT_NE(original.identity(), changed.identity());
}

TEST(ChipCallable, KernelsWithSameSignatureDifferByBlob) {
  const ChipCallable vadd = ChipCallable::from_file(kernels::kernel_file("vadd"));
  const ChipCallable gemm = ChipCallable::from_file(kernels::kernel_file("gemm"));
  EXPECT_EQ(vadd.signature(), gemm.signature());
  EXPECT_NE(vadd.identity(), gemm.identity());
}

TEST(ChipCallable, MissingFileNamesPath) {
  try {
    ChipCallable::from_file("/nonexistent/libnothing.so");
    FAIL();
  } catch (const ChipError& e) {
    EXPECT_CONTAINS(e.what(), "/nonexistent/libnothing.so");
  }
}

TEST(ChipCallable, NonKernelBlobRejected) {
  EXPECT_THROW(ChipCallable::from_bytes({'h', 'e', 'l', 'l', 'o'}), ChipError);
}

TEST(ChipRuntime, InstallRunUninstall) {
  const ChipCallable c = ChipCallable::from_file(kernels::kernel_file("fail"));
  chip::ChipRuntime chip;
  const chip::LoadedKernel& k = chip.install(c.identity().digest, c.blob(), c.blob_sha256());
  EXPECT_EQ(k.signature(), c.signature());
  const std::string file = k.file_path();
  EXPECT_EQ(std::filesystem::path(file).parent_path(), chip.private_dir());

  const uint64_t loads = chip::kernel_load_count();
  EXPECT_EQ(&chip.install(c.identity().digest, c.blob(), c.blob_sha256()), &k) << "re-install is a no-op";
  const uint64_t mode[] = {0};
  const chip::KernelOutcome out = chip.run(c.identity().digest, {}, mode, CallConfig{});
  EXPECT_EQ(out.message, "fail kernel: deliberate failure");
  EXPECT_EQ(chip::kernel_load_count(), loads) << "dispatching an installed kernel loads no code";

  EXPECT_TRUE(chip.uninstall(c.identity().digest));
  EXPECT_FALSE(chip.uninstall(c.identity().digest));
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST(ChipRuntime, DifferentBlobUnderInstalledDigestRejected) {
  const ChipCallable vadd = ChipCallable::from_file(kernels::kernel_file("vadd"));
  const ChipCallable gemm = ChipCallable::from_file(kernels::kernel_file("gemm"));
  chip::ChipRuntime chip;
  chip.install(vadd.identity().digest, vadd.blob(), vadd.blob_sha256());
  try {
    chip.install(vadd.identity().digest, gemm.blob(), gemm.blob_sha256());
    FAIL();
  } catch (const ChipError& e) {
    EXPECT_CONTAINS(e.what(), "refusing a different blob");
  }
  EXPECT_EQ(chip.find(vadd.identity().digest)->blob_sha256(), vadd.blob_sha256());
}

TEST(ChipRuntime, UnknownDigestFailsNamingHashid) {
  const chip::ChipRuntime chip;
  const Digest unknown = sha256(std::vector<uint8_t>{1, 2, 3});
  const chip::KernelOutcome out = chip.run(unknown, {}, {}, CallConfig{});
  EXPECT_FALSE(out.ok);
  EXPECT_CONTAINS(out.message, to_hashid(unknown));
}

TEST(ChipRuntime, DescriptorDigestMismatchRejected) {
  const ChipCallable c = ChipCallable::from_file(kernels::kernel_file("vadd"));
  chip::ChipRuntime chip;
  Digest other = c.identity().digest;
  other[31] ^= 1;
  try {
    chip.install(other, c.blob(), c.blob_sha256());
    FAIL();
  } catch (const ChipError& e) {
    EXPECT_CONTAINS(e.what(), "the descriptor this chip rebuilds from the blob hashes to " + c.hashid());
  }
  EXPECT_EQ(chip.size(), 0u);
  EXPECT_EQ(chip::testing::entries_in(chip.private_dir()), 0u);
}

TEST(ChipRuntime, PrivateDirectoryRemovedWithRuntime) {
  const ChipCallable c = ChipCallable::from_file(kernels::kernel_file("vadd"));
  std::string dir;
  {
    chip::ChipRuntime chip("echelon-s00000000000000ab-");
    dir = chip.private_dir();
    EXPECT_CONTAINS(std::filesystem::path(dir).filename().string(), "echelon-s00000000000000ab-");
    chip.install(c.identity().digest, c.blob(), c.blob_sha256());
    EXPECT_EQ(chip::testing::entries_in(dir), 1u);
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace echelon
