// load_kernel: each check refuses with its own message, in order, and cleans up after itself.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "chip/kernel_image.h"
#include "chip/private_dir.h"
#include "chip_test_support.h"
#include "echelon/chip_callable.h"

namespace echelon::chip {
namespace {

using testing::entries_in;
using testing::kernel_blob;

// Expects load_kernel to throw ChipError mentioning `what`, with nothing loaded.
void expect_refused(const std::vector<uint8_t>& blob, const std::string& what) {
  const PrivateDir dir;
  const uint64_t loads = kernel_load_count();
  try {
    load_kernel(blob, sha256(blob), dir.path());
    ADD_FAILURE() << "blob was accepted; expected: " << what;
  } catch (const ChipError& e) {
    EXPECT_CONTAINS(e.what(), what);
  }
  EXPECT_EQ(kernel_load_count(), loads);
  EXPECT_EQ(entries_in(dir.path()), 0u);
}

TEST(ChipKernel, LoadsBundledKernelAndReadsSignature) {
  const PrivateDir dir;
  const auto blob = kernel_blob("vadd");
  const uint64_t loads = kernel_load_count();
  const LoadedKernel k = load_kernel(blob, sha256(blob), dir.path());
  EXPECT_EQ(kernel_load_count(), loads + 1);
  EXPECT_EQ(k.signature(), (std::vector{ArgDirection::IN, ArgDirection::IN, ArgDirection::OUT}));
  EXPECT_EQ(k.signature_hash(), chip_signature_hash(k.signature()));
  EXPECT_EQ(k.blob_sha256(), sha256(blob));
  EXPECT_EQ(k.file_path(), dir.path() + "/" + to_hex(sha256(blob)) + ".so");
  EXPECT_NE(k.entry(), nullptr);
  EXPECT_EQ(std::filesystem::status(k.file_path()).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(ChipKernel, BlobHashMismatchRejectedBeforeLoad) {
  const PrivateDir dir;
  const auto blob = kernel_blob("vadd");
  Digest wrong = sha256(blob);
  wrong[0] ^= 0xFF;
  const uint64_t loads = kernel_load_count();
  try {
    load_kernel(blob, wrong, dir.path());
    FAIL() << "mismatching blob was loaded";
  } catch (const ChipError& e) {
    EXPECT_CONTAINS(e.what(), "SHA-256 mismatch");
    EXPECT_CONTAINS(e.what(), to_hashid(wrong));
    EXPECT_CONTAINS(e.what(), to_hashid(sha256(blob)));
  }
  EXPECT_EQ(kernel_load_count(), loads);
  EXPECT_EQ(entries_in(dir.path()), 0u) << "nothing may be written before the hash is checked";
}

TEST(ChipKernel, CorruptedElfMagicRejected) {
  auto blob = kernel_blob("vadd");
  blob[1] = 'X';
  expect_refused(blob, "not an ELF file");
}

TEST(ChipKernel, TruncatedBlobRejected) {
  auto blob = kernel_blob("vadd");
  blob.resize(EI_NIDENT + 2);
  expect_refused(blob, "too short for a");
}

TEST(ChipKernel, WrongElfClassRejected) {
  auto blob = kernel_blob("vadd");
  blob[EI_CLASS] = blob[EI_CLASS] == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64;
  expect_refused(blob, "but this host is ELFCLASS");
}

TEST(ChipKernel, WrongMachineRejected) {
  auto blob = kernel_blob("vadd");
  Elf64_Ehdr h;
  std::memcpy(&h, blob.data(), sizeof h);
  h.e_machine = h.e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
  std::memcpy(blob.data(), &h, sizeof h);
  expect_refused(blob, h.e_machine == EM_AARCH64 ? "built for AArch64 but this host is" : "built for x86-64");
}

TEST(ChipKernel, NonSharedObjectRejected) {
  auto blob = kernel_blob("vadd");
  Elf64_Ehdr h;
  std::memcpy(&h, blob.data(), sizeof h);
  h.e_type = ET_REL;
  std::memcpy(blob.data(), &h, sizeof h);
  expect_refused(blob, "expected a shared object");
}

TEST(ChipKernel, AbiVersionMismatchRejected) {
  const PrivateDir dir;
  const auto blob = kernel_blob("badabi");
  try {
    load_kernel(blob, sha256(blob), dir.path());
    FAIL() << "kernel with ABI version 2 was accepted";
  } catch (const ChipError& e) {
    EXPECT_CONTAINS(e.what(), "chip ABI version 2, this runtime supports version 1");
  }
  EXPECT_EQ(entries_in(dir.path()), 0u) << "a refused kernel's file must be removed";
}

TEST(ChipKernel, FileRemovedWhenKernelDestroyed) {
  const PrivateDir dir;
  const auto blob = kernel_blob("scale");
  std::string path;
  {
    LoadedKernel k = load_kernel(blob, sha256(blob), dir.path());
    path = k.file_path();
    LoadedKernel moved = std::move(k);  // ownership moves; the file stays until `moved` dies
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(entries_in(dir.path()), 0u);
}

TEST(ChipKernel, SameBlobTwiceInOneDirectoryRefused) {
  const PrivateDir dir;
  const auto blob = kernel_blob("vadd");
  const LoadedKernel first = load_kernel(blob, sha256(blob), dir.path());
  try {
    load_kernel(blob, sha256(blob), dir.path());
    FAIL() << "second copy of the same blob was written";
  } catch (const ChipError& e) {
    EXPECT_CONTAINS(e.what(), "cannot create kernel file");
  }
  EXPECT_TRUE(std::filesystem::exists(first.file_path())) << "the refused load must not remove the first one's file";
}

TEST(ChipKernel, EachLoadIsCounted) {
  const PrivateDir a, b;
  const auto blob = kernel_blob("gemm");
  const uint64_t before = kernel_load_count();
  const LoadedKernel k1 = load_kernel(blob, sha256(blob), a.path());
  const LoadedKernel k2 = load_kernel(blob, sha256(blob), b.path());
  EXPECT_EQ(kernel_load_count(), before + 2);
}

}  // namespace
}  // namespace echelon::chip
