// Loading a kernel blob (callables.md 9.2): verify, write to a private file, dlopen, read exports.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "echelon/callable.h"
#include "echelon/chip_kernel.h"

namespace echelon::chip {

// A file this process created; unlinked on destruction.
class OwnedFile {
 public:
  OwnedFile() = default;
  explicit OwnedFile(std::string path) : path_(std::move(path)) {}
  OwnedFile(OwnedFile&& other) noexcept;
  OwnedFile& operator=(OwnedFile&& other) noexcept;
  OwnedFile(const OwnedFile&) = delete;
  OwnedFile& operator=(const OwnedFile&) = delete;
  ~OwnedFile();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A dlopen handle; dlclosed on destruction.
class LibraryHandle {
 public:
  LibraryHandle() = default;
  explicit LibraryHandle(void* handle) : handle_(handle) {}
  LibraryHandle(LibraryHandle&& other) noexcept;
  LibraryHandle& operator=(LibraryHandle&& other) noexcept;
  LibraryHandle(const LibraryHandle&) = delete;
  LibraryHandle& operator=(const LibraryHandle&) = delete;
  ~LibraryHandle();
  void* get() const { return handle_; }

 private:
  void* handle_ = nullptr;
};

// A kernel loaded into this process. Move-only; destruction unloads the library, then deletes its
// file.
class LoadedKernel {
 public:
  LoadedKernel(LoadedKernel&&) noexcept = default;
  LoadedKernel& operator=(LoadedKernel&&) noexcept = default;

  const Digest& blob_sha256() const { return blob_sha256_; }
  const std::vector<ArgDirection>& signature() const { return signature_; }
  // chip_signature_hash(signature()): the descriptor's signature_schema_hash.
  const Digest& signature_hash() const { return signature_hash_; }
  echelon_chip_entry_t* entry() const { return entry_; }
  const std::string& file_path() const { return file_.path(); }

 private:
  friend LoadedKernel load_kernel(std::span<const uint8_t>, const Digest&, const std::string&);
  LoadedKernel() = default;

  // Declared before the library so the library is closed before its file is unlinked.
  OwnedFile file_;
  LibraryHandle library_;
  Digest blob_sha256_{};
  std::vector<ArgDirection> signature_;
  Digest signature_hash_{};
  echelon_chip_entry_t* entry_ = nullptr;
};

// Loads `blob`, checking in this order and throwing ChipError naming the failed check:
//   1. SHA-256(blob) == expected_blob_sha256 (before anything is written or loaded);
//   2. ELF magic, class, byte order, machine and type match this host;
//   3. the file <private_dir>/<hex digest>.so does not exist yet (O_CREAT | O_EXCL, mode 0600);
//   4. dlopen(RTLD_NOW | RTLD_LOCAL) succeeds;
//   5. echelon_chip_abi_version is exported and equals ECHELON_CHIP_ABI_VERSION;
//   6. echelon_chip_signature is exported, count <= ECHELON_CHIP_MAX_ARGS, directions are valid
//      ArgDirection values and entries past count are 0;
//   7. echelon_chip_entry is exported.
// On any failure after the file is written, the library is closed and the file removed.
LoadedKernel load_kernel(std::span<const uint8_t> blob, const Digest& expected_blob_sha256,
                         const std::string& private_dir);

// Number of successful dlopen calls made by load_kernel in this process (a dispatch that finds
// its kernel pre-loaded leaves it unchanged).
uint64_t kernel_load_count();

}  // namespace echelon::chip
