#include "core/shm_attach.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {
namespace {

struct Mapping {
  std::byte* base;
  uint64_t bytes;
  bool owned;  // mapped here by attach (unmapped by forget), not registered by the creator
};

struct ShmTable {
  std::mutex mu;
  std::unordered_map<CanonicalIdentity, Mapping, CanonicalIdentityHash> maps;
  static ShmTable& get() {
    static ShmTable* t = new ShmTable;  // outlives every static that may still resolve tensors
    return *t;
  }
};

}  // namespace

std::byte* attach_posix_shm(const BufferDescriptor& desc) {
  auto& t = ShmTable::get();
  std::lock_guard lock(t.mu);
  auto it = t.maps.find(desc.identity);
  if (it != t.maps.end()) return it->second.base;
  const std::string name = "/" + std::string(reinterpret_cast<const char*>(desc.body), desc.body_len);
  const int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) throw Error(fmt::format("POSIX_SHM backing '{}': shm_open failed: {}", name, std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < desc.nbytes) {
    close(fd);
    throw Error(fmt::format("POSIX_SHM backing '{}' is {} bytes, its descriptor claims {}", name,
                            static_cast<long long>(st.st_size), desc.nbytes));
  }
  const int prot = PROT_READ | (grants_write(desc.access) ? PROT_WRITE : 0);
  void* p = mmap(nullptr, desc.nbytes, prot, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) throw Error(fmt::format("POSIX_SHM backing '{}': mmap failed: {}", name, std::strerror(errno)));
  t.maps.emplace(desc.identity, Mapping{static_cast<std::byte*>(p), desc.nbytes, true});
  return static_cast<std::byte*>(p);
}

void register_posix_shm(const CanonicalIdentity& identity, std::byte* base, uint64_t bytes) {
  auto& t = ShmTable::get();
  std::lock_guard lock(t.mu);
  t.maps[identity] = Mapping{base, bytes, false};
}

void forget_posix_shm(const CanonicalIdentity& identity) {
  auto& t = ShmTable::get();
  std::lock_guard lock(t.mu);
  auto it = t.maps.find(identity);
  if (it == t.maps.end()) return;
  if (it->second.owned) munmap(it->second.base, it->second.bytes);
  t.maps.erase(it);
}

}  // namespace echelon
