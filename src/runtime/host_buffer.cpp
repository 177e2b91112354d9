#include "echelon/host_buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/shm_attach.h"
#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

HostBuffer::HostBuffer(uint64_t nbytes, AccessMode access) {
  if (nbytes == 0) throw ValidationError("HostBuffer: nbytes must be > 0");
  static std::atomic<uint32_t> counter{0};
  const CanonicalIdentity id = new_local_identity();
  uint32_t salt;
  std::memcpy(&salt, id.owner_instance_id.data(), sizeof salt);
  const std::string body = fmt::format("echelon-{}-{:x}-{:08x}", getpid(), counter.fetch_add(1), salt);
  std::snprintf(name_, sizeof name_, "/%s", body.c_str());
  const int fd = shm_open(name_, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(fmt::format("HostBuffer: shm_open({}) failed: {}", name_, std::strerror(errno)));
  if (ftruncate(fd, static_cast<off_t>(nbytes)) != 0) {
    const int err = errno;
    close(fd);
    shm_unlink(name_);
    throw Error(fmt::format("HostBuffer: sizing {} to {} bytes failed: {}", name_, nbytes, std::strerror(err)));
  }
  void* p = mmap(nullptr, nbytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    const int err = errno;
    shm_unlink(name_);
    throw Error(fmt::format("HostBuffer: mmap of {} bytes failed: {}", nbytes, std::strerror(err)));
  }
  base_ = p;
  mapped_ = nbytes;
  desc_.magic = BufferDescriptor::MAGIC;
  desc_.address_space = AddressSpace::HOST;
  desc_.access = access;
  desc_.backend_kind = BackendKind::POSIX_SHM;
  desc_.identity = id;
  desc_.nbytes = nbytes;
  desc_.body_len = static_cast<uint16_t>(body.size());
  std::memcpy(desc_.body, body.data(), body.size());
  desc_.validate();
  register_posix_shm(id, static_cast<std::byte*>(p), nbytes);
}

HostBuffer::~HostBuffer() { release(); }

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), mapped_(std::exchange(other.mapped_, 0)), desc_(other.desc_) {
  std::memcpy(name_, other.name_, sizeof name_);
}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    release();
    base_ = std::exchange(other.base_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    desc_ = other.desc_;
    std::memcpy(name_, other.name_, sizeof name_);
  }
  return *this;
}

void HostBuffer::release() noexcept {
  if (!base_) return;
  forget_posix_shm(desc_.identity);
  munmap(base_, mapped_);
  shm_unlink(name_);
  base_ = nullptr;
  mapped_ = 0;
}

}  // namespace echelon
