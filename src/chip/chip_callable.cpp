#include "echelon/chip_callable.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "chip/kernel_image.h"
#include "chip/private_dir.h"
#include "chip/unique_fd.h"

namespace echelon {

namespace {

std::vector<uint8_t> read_whole_file(const std::string& path) {
  chip::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw ChipError(fmt::format("cannot open kernel file {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw ChipError(fmt::format("kernel file {} is not a regular file", path));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ChipError(fmt::format("cannot read kernel file {}: {}", path, std::strerror(errno)));
    if (n == 0) throw ChipError(fmt::format("kernel file {} shrank while being read", path));
    done += static_cast<size_t>(n);
  }
  return bytes;
}

}  // namespace

std::string host_target_arch() {
  struct utsname u {};
  if (::uname(&u) != 0) throw ChipError(fmt::format("uname failed: {}", std::strerror(errno)));
  return u.machine;
}

std::vector<uint8_t> local_chip_descriptor(const Digest& blob_sha256, const Digest& signature_schema_hash) {
  static const std::string arch = host_target_arch();
  return chip_callable_descriptor(arch, CHIP_PLATFORM, CHIP_RUNTIME, blob_sha256, signature_schema_hash);
}

ChipCallable ChipCallable::from_file(const std::string& path) {
  try {
    return from_bytes(read_whole_file(path));
  } catch (const ChipError& e) {
    throw ChipError(fmt::format("chip callable {}: {}", path, e.what()));
  }
}

ChipCallable ChipCallable::from_bytes(std::vector<uint8_t> blob) {
  ChipCallable c;
  c.blob_sha256_ = sha256(blob);
  {
    // The signature lives in the blob's exports; a throwaway private copy is loaded to read it.
    const chip::PrivateDir dir;
    const chip::LoadedKernel kernel = chip::load_kernel(blob, c.blob_sha256_, dir.path());
    c.signature_ = kernel.signature();
    c.descriptor_ = local_chip_descriptor(c.blob_sha256_, kernel.signature_hash());
  }
  c.identity_ = make_identity(c.descriptor_, CallableKind::CHIP_CALLABLE, TargetNamespace::LOCAL_CHIP);
  c.blob_ = std::move(blob);
  return c;
}

}  // namespace echelon
