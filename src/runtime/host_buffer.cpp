#include "echelon/host_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

HostBuffer::HostBuffer(uint64_t nbytes, AccessMode access) {
  if (nbytes == 0) throw ValidationError("HostBuffer: nbytes must be > 0");
  void* p = mmap(nullptr, nbytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw Error(fmt::format("HostBuffer: mmap of {} bytes failed: {}", nbytes, std::strerror(errno)));
  base_ = p;
  mapped_ = nbytes;
  desc_ = make_address_descriptor(BackendKind::FORK_SHM, AddressSpace::HOST, access, new_local_identity(), nbytes,
                                  reinterpret_cast<uint64_t>(p));
}

HostBuffer::~HostBuffer() { release(); }

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), mapped_(std::exchange(other.mapped_, 0)), desc_(other.desc_) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    release();
    base_ = std::exchange(other.base_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    desc_ = other.desc_;
  }
  return *this;
}

void HostBuffer::release() noexcept {
  if (base_) munmap(base_, mapped_);
  base_ = nullptr;
  mapped_ = 0;
}

}  // namespace echelon
