#include "chip/kernel_image.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "chip/elf_check.h"
#include "chip/unique_fd.h"
#include "echelon/chip_callable.h"

namespace echelon::chip {

namespace {

std::atomic<uint64_t> g_load_count{0};

OwnedFile write_private_file(std::span<const uint8_t> blob, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid())
    throw ChipError(fmt::format("cannot create kernel file {}: {}", path, std::strerror(errno)));
  OwnedFile file(path);
  size_t done = 0;
  while (done < blob.size()) {
    const ssize_t n = ::write(fd.get(), blob.data() + done, blob.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ChipError(fmt::format("cannot write kernel file {}: {}", path, std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return file;
}

const void* find_symbol(void* handle, const char* name, const std::string& path) {
  const void* sym = ::dlsym(handle, name);
  if (sym == nullptr)
    throw ChipError(fmt::format("kernel {} does not export {} (build it with ECHELON_CHIP_KERNEL from "
                                "echelon/chip_kernel.h)", path, name));
  return sym;
}

std::vector<ArgDirection> read_signature(const echelon_chip_signature_t& sig, const std::string& path) {
  if (sig.count > ECHELON_CHIP_MAX_ARGS)
    throw ChipError(fmt::format("kernel {} signature count {} exceeds ECHELON_CHIP_MAX_ARGS ({})", path, sig.count,
                                ECHELON_CHIP_MAX_ARGS));
  std::vector<ArgDirection> directions;
  directions.reserve(sig.count);
  for (uint32_t i = 0; i < sig.count; ++i) {
    if (sig.directions[i] > static_cast<uint32_t>(ArgDirection::INOUT))
      throw ChipError(fmt::format("kernel {} signature entry {} is {}, not an ArgDirection (0..3)", path, i,
                                  sig.directions[i]));
    directions.push_back(static_cast<ArgDirection>(sig.directions[i]));
  }
  for (uint32_t i = sig.count; i < ECHELON_CHIP_MAX_ARGS; ++i)
    if (sig.directions[i] != 0)
      throw ChipError(fmt::format("kernel {} signature entry {} past count {} is {}, must be 0", path, i, sig.count,
                                  sig.directions[i]));
  return directions;
}

}  // namespace

OwnedFile::OwnedFile(OwnedFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}

OwnedFile& OwnedFile::operator=(OwnedFile&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) ::unlink(path_.c_str());
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

OwnedFile::~OwnedFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

LibraryHandle::LibraryHandle(LibraryHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

LibraryHandle& LibraryHandle::operator=(LibraryHandle&& other) noexcept {
  if (this != &other) {
    if (handle_) ::dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

LibraryHandle::~LibraryHandle() {
  if (handle_) ::dlclose(handle_);
}

LoadedKernel load_kernel(std::span<const uint8_t> blob, const Digest& expected_blob_sha256,
                         const std::string& private_dir) {
  const Digest actual = sha256(blob);
  if (actual != expected_blob_sha256)
    throw ChipError(fmt::format("kernel blob SHA-256 mismatch: expected {}, blob of {} bytes hashes to {}; "
                                "refusing to load it", to_hashid(expected_blob_sha256), blob.size(), to_hashid(actual)));
  check_elf_matches_host(blob);

  LoadedKernel kernel;
  kernel.blob_sha256_ = actual;
  kernel.file_ = write_private_file(blob, fmt::format("{}/{}.so", private_dir, to_hex(actual)));
  const std::string& path = kernel.file_.path();

  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw ChipError(fmt::format("cannot load kernel {}: {}", path, why ? why : "unknown dlopen error"));
  }
  kernel.library_ = LibraryHandle(handle);
  g_load_count.fetch_add(1, std::memory_order_relaxed);

  const auto* abi = static_cast<const uint32_t*>(find_symbol(handle, "echelon_chip_abi_version", path));
  if (*abi != ECHELON_CHIP_ABI_VERSION)
    throw ChipError(fmt::format("kernel {} has chip ABI version {}, this runtime supports version {}", path, *abi,
                                ECHELON_CHIP_ABI_VERSION));
  const auto* sig = static_cast<const echelon_chip_signature_t*>(find_symbol(handle, "echelon_chip_signature", path));
  kernel.signature_ = read_signature(*sig, path);
  kernel.signature_hash_ = chip_signature_hash(kernel.signature_);
  // POSIX guarantees dlsym results convert to function pointers.
  kernel.entry_ = reinterpret_cast<echelon_chip_entry_t*>(const_cast<void*>(find_symbol(handle, "echelon_chip_entry", path)));
  return kernel;
}

uint64_t kernel_load_count() { return g_load_count.load(std::memory_order_relaxed); }

}  // namespace echelon::chip
