// Backing descriptors: what a tensor's bytes live in (runtime.md RT-202, protocol.md 6.3).
// These structs are the local same-binary ABI (mailbox frames copy them as bytes); they are never
// put on the remote wire raw.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>

namespace echelon {

enum class AddressSpace : uint8_t { HOST = 0, DEVICE = 1 };
enum class AccessMode : uint8_t { READ = 0, WRITE = 1, READWRITE = 2 };
enum class BackendKind : uint8_t {
  FORK_SHM = 0,        // MAP_SHARED made before fork: same address in every child
  POSIX_SHM = 1,       // named shm object created after init; body = name
  VMM_WINDOW = 2,      // reserved: no allocator produces it, every validator rejects it
  REMOTE_SIDECAR = 3,  // remote data named by a per-argument sidecar
  DEVICE_MALLOC = 4,   // a chip's device arena
  FORK_COW = 5,        // private pre-fork memory, READ only
};
inline constexpr uint8_t BACKEND_KIND_NUM = 6;

inline constexpr size_t OWNER_INSTANCE_ID_BYTES = 8;
inline constexpr size_t DESC_MAX_BYTES = 32;

constexpr bool grants_read(AccessMode m) { return m == AccessMode::READ || m == AccessMode::READWRITE; }
constexpr bool grants_write(AccessMode m) { return m == AccessMode::WRITE || m == AccessMode::READWRITE; }
const char* to_string(AccessMode m);
const char* to_string(BackendKind k);
const char* to_string(AddressSpace s);

// Identity of a backing: equal identities mean the same bytes. Padding never takes part.
struct CanonicalIdentity {
  std::array<uint8_t, OWNER_INSTANCE_ID_BYTES> owner_instance_id{};
  uint64_t buffer_id = 0;
  uint32_t generation = 0;  // 0 = uninitialised
  uint8_t reserved_[12]{};

  friend bool operator==(const CanonicalIdentity& a, const CanonicalIdentity& b) {
    return a.owner_instance_id == b.owner_instance_id && a.buffer_id == b.buffer_id &&
           a.generation == b.generation;
  }
};
static_assert(sizeof(CanonicalIdentity) == 32);

struct CanonicalIdentityHash {
  size_t operator()(const CanonicalIdentity& id) const noexcept {
    uint64_t owner;
    std::memcpy(&owner, id.owner_instance_id.data(), sizeof owner);
    uint64_t h = owner * 0x9E3779B97F4A7C15ull ^ id.buffer_id;
    h ^= (h >> 29) ^ (uint64_t{id.generation} << 32);
    return static_cast<size_t>(h * 0xBF58476D1CE4E5B9ull);
  }
};

struct BufferDescriptor {
  static constexpr uint16_t MAGIC = 0x5342;

  uint16_t magic = 0;  // MAGIC when bound; 0 marks an unbound tensor
  AddressSpace address_space = AddressSpace::HOST;
  AccessMode access = AccessMode::READ;
  BackendKind backend_kind = BackendKind::FORK_SHM;
  uint8_t pad0_[3]{};
  CanonicalIdentity identity;
  uint64_t nbytes = 0;
  uint32_t owner_worker_path_id = 0;  // diagnostics only; never used for routing
  uint16_t body_len = 0;
  uint8_t pad1_[2]{};
  uint8_t body[DESC_MAX_BYTES]{};

  bool bound() const { return magic == MAGIC; }
  // Address-bearing backends (FORK_SHM, FORK_COW, DEVICE_MALLOC) keep their base in an 8-byte body.
  bool has_address() const;
  uint64_t base_address() const;
  // Throws ValidationError naming the first bad field (protocol.md 6.3 descriptor rules).
  void validate() const;

  friend bool operator==(const BufferDescriptor& a, const BufferDescriptor& b);
};
static_assert(sizeof(BufferDescriptor) == 88);
static_assert(offsetof(BufferDescriptor, identity) == 8);
static_assert(offsetof(BufferDescriptor, nbytes) == 40);
static_assert(offsetof(BufferDescriptor, owner_worker_path_id) == 48);
static_assert(offsetof(BufferDescriptor, body_len) == 52);
static_assert(offsetof(BufferDescriptor, body) == 56);
static_assert(std::is_trivially_copyable_v<BufferDescriptor>);

// Builds a descriptor for an address-bearing local backing.
BufferDescriptor make_address_descriptor(BackendKind kind, AddressSpace space, AccessMode access,
                                         const CanonicalIdentity& identity, uint64_t nbytes,
                                         uint64_t base_address, uint32_t owner_worker_path_id = 0);

// 8-byte random nonce naming this process incarnation (OpenSSL CSPRNG), fixed for its lifetime.
// A forked child keeps its parent's value until it calls reset_process_instance_id().
const std::array<uint8_t, OWNER_INSTANCE_ID_BYTES>& process_instance_id();
void reset_process_instance_id();
// Fresh identity owned by this process incarnation (buffer ids are unique per incarnation).
CanonicalIdentity new_local_identity();

}  // namespace echelon
