#include "echelon/host_buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "core/shm_attach.h"
#include "fmt/format.h"

namespace echelon {

namespace {

// Closes the shm fd on every path; the mapping outlives it.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The descriptor body is the name without its '/', so it must satisfy the POSIX_SHM body rules
// (BufferDescriptor::validate) before anything is created under it.
void check_name(std::string_view name) {
  if (name.size() < 2 || name.front() != '/')
    throw HostBufferError(fmt::format("HostBuffer: shm name '{}' must be '/' followed by a name", name), 0);
  const std::string_view body = name.substr(1);
  if (body.size() > DESC_MAX_BYTES)
    throw HostBufferError(
        fmt::format("HostBuffer: shm name '{}' is longer than {} bytes after the '/'", name, DESC_MAX_BYTES), 0);
  for (char c : body)
    if (c < 0x21 || c > 0x7E || c == '/')
      throw HostBufferError(fmt::format("HostBuffer: shm name '{}' must be printable ASCII without '/'", name), 0);
}

[[noreturn]] void sys_fail(const std::string& what, int err) {
  throw HostBufferError(fmt::format("HostBuffer: {}: {}", what, std::strerror(err)), err);
}

}  // namespace

HostBuffer::HostBuffer(uint64_t nbytes, AccessMode access) {
  if (nbytes == 0) throw ValidationError("HostBuffer: nbytes must be > 0");
  static std::atomic<uint32_t> counter{0};
  const CanonicalIdentity salt_id = new_local_identity();
  uint32_t salt;
  std::memcpy(&salt, salt_id.owner_instance_id.data(), sizeof salt);
  create(fmt::format("/echelon-{}-{:x}-{:08x}", getpid(), counter.fetch_add(1), salt), nbytes, access, Reserve::NO);
}

HostBuffer HostBuffer::create_named(std::string_view name, uint64_t nbytes, AccessMode access) {
  if (nbytes == 0) throw ValidationError("HostBuffer: nbytes must be > 0");
  HostBuffer b;
  b.create(name, nbytes, access, Reserve::YES);
  return b;
}

HostBuffer HostBuffer::open_named(std::string_view name, uint64_t nbytes, AccessMode access) {
  if (nbytes == 0) throw ValidationError("HostBuffer: nbytes must be > 0");
  HostBuffer b;
  b.open(name, nbytes, access);
  return b;
}

void HostBuffer::create(std::string_view name, uint64_t nbytes, AccessMode access, Reserve reserve) {
  check_name(name);
  std::snprintf(name_, sizeof name_, "%.*s", static_cast<int>(name.size()), name.data());
  FdGuard fd(shm_open(name_, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) sys_fail(fmt::format("shm_open({}) failed", name_), errno);
  // From here on the name is ours: any failure unlinks it before throwing.
  auto undo = [&](const std::string& what, int err) {
    shm_unlink(name_);
    name_[0] = '\0';
    sys_fail(what, err);
  };
  if (ftruncate(fd.get(), static_cast<off_t>(nbytes)) != 0)
    undo(fmt::format("sizing {} to {} bytes failed", name_, nbytes), errno);
  if (reserve == Reserve::YES) {
    // posix_fallocate returns the error instead of setting errno.
    if (const int err = posix_fallocate(fd.get(), 0, static_cast<off_t>(nbytes)); err != 0)
      undo(fmt::format("reserving {} bytes for {} failed", nbytes, name_), err);
  }
  void* p = mmap(nullptr, nbytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) undo(fmt::format("mmap of {} bytes of {} failed", nbytes, name_), errno);
  adopt(p, nbytes, access, /*owns_name=*/true);
}

void HostBuffer::open(std::string_view name, uint64_t nbytes, AccessMode access) {
  check_name(name);
  std::snprintf(name_, sizeof name_, "%.*s", static_cast<int>(name.size()), name.data());
  const bool writable = grants_write(access);
  FdGuard fd(shm_open(name_, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0));
  if (fd.get() < 0) {
    const int err = errno;
    name_[0] = '\0';
    sys_fail(fmt::format("shm_open({}) failed", name), err);
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) {
    const int err = errno;
    name_[0] = '\0';
    sys_fail(fmt::format("fstat({}) failed", name), err);
  }
  if (static_cast<uint64_t>(st.st_size) < nbytes) {
    name_[0] = '\0';
    throw HostBufferError(fmt::format("HostBuffer: {} is {} bytes, {} were asked for", name,
                                      static_cast<long long>(st.st_size), nbytes),
                          0);
  }
  void* p = mmap(nullptr, nbytes, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    name_[0] = '\0';
    sys_fail(fmt::format("mmap of {} bytes of {} failed", nbytes, name), err);
  }
  adopt(p, nbytes, access, /*owns_name=*/false);
}

void HostBuffer::adopt(void* base, uint64_t nbytes, AccessMode access, bool owns_name) {
  base_ = base;
  mapped_ = nbytes;
  owns_name_ = owns_name;
  const CanonicalIdentity id = new_local_identity();
  const size_t body_len = std::strlen(name_) - 1;
  desc_.magic = BufferDescriptor::MAGIC;
  desc_.address_space = AddressSpace::HOST;
  desc_.access = access;
  desc_.backend_kind = BackendKind::POSIX_SHM;
  desc_.identity = id;
  desc_.nbytes = nbytes;
  desc_.body_len = static_cast<uint16_t>(body_len);
  std::memcpy(desc_.body, name_ + 1, body_len);
  desc_.validate();
  // This process resolves the backing to its own mapping instead of opening the name again.
  register_posix_shm(id, static_cast<std::byte*>(base), nbytes);
}

HostBuffer::~HostBuffer() { release(); }

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)),
      owns_name_(std::exchange(other.owns_name_, false)),
      desc_(other.desc_) {
  std::memcpy(name_, other.name_, sizeof name_);
  other.name_[0] = '\0';
}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    release();
    base_ = std::exchange(other.base_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    owns_name_ = std::exchange(other.owns_name_, false);
    desc_ = other.desc_;
    std::memcpy(name_, other.name_, sizeof name_);
    other.name_[0] = '\0';
  }
  return *this;
}

void HostBuffer::release() noexcept {
  if (!base_) return;
  forget_posix_shm(desc_.identity);
  munmap(base_, mapped_);
  if (owns_name_) shm_unlink(name_);
  base_ = nullptr;
  mapped_ = 0;
  owns_name_ = false;
  name_[0] = '\0';
}

}  // namespace echelon
