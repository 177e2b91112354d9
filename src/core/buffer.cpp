#include "echelon/buffer.h"

#include <openssl/rand.h>

#include <atomic>
#include <mutex>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

const char* to_string(AccessMode m) {
  switch (m) {
    case AccessMode::READ: return "READ";
    case AccessMode::WRITE: return "WRITE";
    case AccessMode::READWRITE: return "READWRITE";
  }
  return "INVALID";
}

const char* to_string(BackendKind k) {
  switch (k) {
    case BackendKind::FORK_SHM: return "FORK_SHM";
    case BackendKind::POSIX_SHM: return "POSIX_SHM";
    case BackendKind::VMM_WINDOW: return "VMM_WINDOW";
    case BackendKind::REMOTE_SIDECAR: return "REMOTE_SIDECAR";
    case BackendKind::DEVICE_MALLOC: return "DEVICE_MALLOC";
    case BackendKind::FORK_COW: return "FORK_COW";
  }
  return "INVALID";
}

const char* to_string(AddressSpace s) {
  switch (s) {
    case AddressSpace::HOST: return "HOST";
    case AddressSpace::DEVICE: return "DEVICE";
  }
  return "INVALID";
}

bool BufferDescriptor::has_address() const {
  return backend_kind == BackendKind::FORK_SHM || backend_kind == BackendKind::FORK_COW ||
         backend_kind == BackendKind::DEVICE_MALLOC || backend_kind == BackendKind::VMM_WINDOW;
}

uint64_t BufferDescriptor::base_address() const {
  uint64_t base = 0;
  std::memcpy(&base, body, sizeof base);
  return base;
}

void BufferDescriptor::validate() const {
  auto fail = [](const std::string& what) { throw ValidationError("buffer descriptor: " + what); };
  if (magic != MAGIC) fail(fmt::format("magic is {:#x}, expected {:#x}", magic, MAGIC));
  if (static_cast<uint8_t>(address_space) > static_cast<uint8_t>(AddressSpace::DEVICE))
    fail(fmt::format("address_space {} is not HOST or DEVICE", static_cast<int>(address_space)));
  if (static_cast<uint8_t>(access) > static_cast<uint8_t>(AccessMode::READWRITE))
    fail(fmt::format("access {} is not READ, WRITE or READWRITE", static_cast<int>(access)));
  if (static_cast<uint8_t>(backend_kind) >= BACKEND_KIND_NUM)
    fail(fmt::format("backend_kind {} is unknown", static_cast<int>(backend_kind)));
  if (backend_kind == BackendKind::VMM_WINDOW) fail("backend_kind VMM_WINDOW is reserved and unsupported");
  if (body_len > DESC_MAX_BYTES) fail(fmt::format("body_len {} exceeds {}", body_len, DESC_MAX_BYTES));
  if (identity.generation == 0) fail("identity.generation is 0 (uninitialised)");
  if (nbytes == 0) fail("nbytes is 0");
  const bool device_backend = backend_kind == BackendKind::DEVICE_MALLOC;
  if (device_backend != (address_space == AddressSpace::DEVICE) &&
      backend_kind != BackendKind::REMOTE_SIDECAR)
    fail(fmt::format("backend_kind {} does not fit address_space {}", to_string(backend_kind),
                     to_string(address_space)));
  if (backend_kind == BackendKind::FORK_COW && access != AccessMode::READ)
    fail("FORK_COW backing must grant READ only");
  if (has_address()) {
    if (body_len != 8) fail(fmt::format("{} body must hold an 8-byte base, body_len is {}", to_string(backend_kind), body_len));
    if (base_address() == 0) fail(fmt::format("{} base address is 0", to_string(backend_kind)));
  } else if (backend_kind == BackendKind::POSIX_SHM) {
    if (body_len == 0) fail("POSIX_SHM body (shm name) is empty");
    for (uint16_t i = 0; i < body_len; ++i) {
      const uint8_t c = body[i];
      if (c < 0x21 || c > 0x7E || c == '/') fail("POSIX_SHM name must be printable ASCII without '/'");
    }
  } else if (backend_kind == BackendKind::REMOTE_SIDECAR && body_len != 0) {
    fail("REMOTE_SIDECAR body must be empty");
  }
  for (size_t i = body_len; i < DESC_MAX_BYTES; ++i)
    if (body[i] != 0) fail(fmt::format("body byte {} past body_len is not zero", i));
}

bool operator==(const BufferDescriptor& a, const BufferDescriptor& b) {
  return a.magic == b.magic && a.address_space == b.address_space && a.access == b.access &&
         a.backend_kind == b.backend_kind && a.identity == b.identity && a.nbytes == b.nbytes &&
         a.owner_worker_path_id == b.owner_worker_path_id && a.body_len == b.body_len &&
         std::memcmp(a.body, b.body, a.body_len) == 0;
}

BufferDescriptor make_address_descriptor(BackendKind kind, AddressSpace space, AccessMode access,
                                         const CanonicalIdentity& identity, uint64_t nbytes,
                                         uint64_t base_address, uint32_t owner_worker_path_id) {
  BufferDescriptor d;
  d.magic = BufferDescriptor::MAGIC;
  d.address_space = space;
  d.access = access;
  d.backend_kind = kind;
  d.identity = identity;
  d.nbytes = nbytes;
  d.owner_worker_path_id = owner_worker_path_id;
  d.body_len = 8;
  std::memcpy(d.body, &base_address, sizeof base_address);
  d.validate();
  return d;
}

namespace {
std::mutex g_instance_mu;
std::array<uint8_t, OWNER_INSTANCE_ID_BYTES> g_instance{};
bool g_instance_set = false;
std::atomic<uint64_t> g_next_buffer_id{1};

void fill_random(std::array<uint8_t, OWNER_INSTANCE_ID_BYTES>& out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw Error("OpenSSL RAND_bytes failed to produce a process instance id");
}
}  // namespace

const std::array<uint8_t, OWNER_INSTANCE_ID_BYTES>& process_instance_id() {
  std::lock_guard lock(g_instance_mu);
  if (!g_instance_set) {
    fill_random(g_instance);
    g_instance_set = true;
  }
  return g_instance;
}

void reset_process_instance_id() {
  std::lock_guard lock(g_instance_mu);
  fill_random(g_instance);
  g_instance_set = true;
  g_next_buffer_id.store(1);
}

CanonicalIdentity new_local_identity() {
  CanonicalIdentity id;
  id.owner_instance_id = process_instance_id();
  id.buffer_id = g_next_buffer_id.fetch_add(1, std::memory_order_relaxed);
  id.generation = 1;
  return id;
}

}  // namespace echelon
