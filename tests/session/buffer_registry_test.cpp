// Unit tests of the runner's BufferRegistry (buffers.md 5, 9.2; protocol.md 6.4): every live-state
// check answers its code and changes nothing, free and release are idempotent, names follow the
// session scheme, and nothing of a session survives the registry.
#include <gtest/gtest.h>
#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "session/buffer_refusal.h"
#include "session/buffer_registry.h"
#include "session/host_tcp_export_descriptor.h"
#include "remote/session_shm_names.h"

namespace echelon::session {
namespace {

using wire::WireStatus;

constexpr int32_t OWNER = 7;
constexpr int32_t IMPORTER = 8;

uint64_t fresh_session_id() {
  static std::atomic<uint64_t> n{0};
  return 0xB0F0'0000'0000'0000ull ^ (static_cast<uint64_t>(getpid()) << 16) ^ ++n;
}

BufferRegistryConfig config_for(int32_t worker, HostToken token = HostToken{1, 2, 3}) {
  BufferRegistryConfig c;
  c.session_id = fresh_session_id();
  c.worker_id = worker;
  c.host_token = token;
  return c;
}

bool shm_exists(const std::string& posix_name) {
  struct stat st {};
  return ::stat(("/dev/shm" + posix_name).c_str(), &st) == 0;
}

std::vector<std::string> shm_with_prefix(const std::string& prefix) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (const dirent* e = ::readdir(d))
      if (std::string_view(e->d_name).rfind(prefix, 0) == 0) out.emplace_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

wire::CopyRequest copy_req(int32_t worker, uint64_t buffer, uint64_t gen, uint64_t offset, uint64_t size,
                           std::vector<uint8_t> data = {}) {
  return wire::CopyRequest{worker, buffer, gen, offset, size, std::move(data)};
}

wire::RemoteTensorDescWire desc(wire::RemoteAddressSpace space, int32_t owner, uint64_t buffer, uint64_t gen,
                                uint64_t offset, uint64_t nbytes, uint64_t token = 0) {
  wire::RemoteTensorDescWire d;
  d.address_space = space;
  d.owner_worker_id = owner;
  d.buffer_id = buffer;
  d.generation = gen;
  d.offset = offset;
  d.nbytes = nbytes;
  d.rkey_or_token = token;
  return d;
}

// An owner registry with buffer 1 (8 bytes, 10..17) live and exported, buffer 2 freed, and an
// importer registry holding import 1 of buffer 1 [2, +4) and a released import 2 of it.
struct Fixture {
  BufferRegistry owner{config_for(OWNER)};
  BufferRegistry importer{config_for(IMPORTER)};
  wire::ExportBufferResult exported;

  Fixture() {
    EXPECT_EQ(owner.alloc({8}).buffer_id, 1u);
    owner.copy_to(copy_req(OWNER, 1, 1, 0, 8, {10, 11, 12, 13, 14, 15, 16, 17}));
    EXPECT_EQ(owner.alloc({4}).buffer_id, 2u);
    owner.free({OWNER, 2, 1});
    exported = owner.export_buffer({OWNER, 1, 1, 2, 4, wire::REMOTE_BUFFER_ACCESS_READ_WRITE, ""});
    EXPECT_EQ(importer.import_buffer({IMPORTER, wire::REMOTE_BUFFER_ACCESS_READ_WRITE, exported}).import_id, 1u);
    EXPECT_EQ(importer.import_buffer({IMPORTER, wire::REMOTE_BUFFER_ACCESS_READ, exported}).import_id, 2u);
    importer.release_import({IMPORTER, OWNER, 1, 1, 2});
  }

  // Everything a refused request must leave unchanged.
  struct Snapshot {
    size_t owners, exports, imports;
    std::vector<uint8_t> bytes;
    friend bool operator==(const Snapshot&, const Snapshot&) = default;
  };
  Snapshot snapshot() {
    return {owner.owner_count() * 100 + importer.owner_count(), owner.export_count(), importer.import_count(),
            owner.copy_from(copy_req(OWNER, 1, 1, 0, 8), 1 << 20)};
  }
  wire::ImportBufferRequest import_req(uint32_t access = wire::REMOTE_BUFFER_ACCESS_READ) const {
    return {IMPORTER, access, exported};
  }
};

struct RuleCase {
  const char* name;
  std::function<void(Fixture&)> apply;
  WireStatus code;
  const char* says;  // a piece of the refusal text
};

std::string case_name(const ::testing::TestParamInfo<RuleCase>& info) { return info.param.name; }
void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.name; }

class BufferRegistryRules : public ::testing::TestWithParam<RuleCase> {};

// BUF-14: one case per check of the buffers.md 5 table (and the TASK rules of protocol.md 6.4).
TEST_P(BufferRegistryRules, ControlRules) {
  const RuleCase& c = GetParam();
  Fixture f;
  const auto before = f.snapshot();
  try {
    c.apply(f);
    ADD_FAILURE() << c.name << " was not refused";
  } catch (const BufferRefusal& e) {
    EXPECT_EQ(e.status(), c.code) << c.name << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
  }
  EXPECT_EQ(f.snapshot(), before) << c.name << " changed state";
}

using S = wire::RemoteAddressSpace;
constexpr uint32_t RW = wire::REMOTE_BUFFER_ACCESS_READ_WRITE;

INSTANTIATE_TEST_SUITE_P(
    BufferRegistry, BufferRegistryRules,
    ::testing::Values(
        RuleCase{"alloc_zero", [](Fixture& f) { f.owner.alloc({0}); }, WireStatus::REJECTED, "0 bytes"},
        // More than any /dev/shm holds: ftruncate or posix_fallocate refuses, never a later SIGBUS.
        RuleCase{"alloc_exceeds_shm", [](Fixture& f) { f.owner.alloc({uint64_t{1} << 62}); }, WireStatus::REJECTED,
                 "cannot allocate"},
        RuleCase{"free_other_worker", [](Fixture& f) { f.owner.free({OWNER + 1, 1, 1}); }, WireStatus::REJECTED,
                 "not this runner"},
        RuleCase{"free_stale_generation", [](Fixture& f) { f.owner.free({OWNER, 1, 2}); }, WireStatus::STALE,
                 "stale"},
        RuleCase{"copy_to_other_worker", [](Fixture& f) { f.owner.copy_to(copy_req(OWNER + 1, 1, 1, 0, 1, {9})); },
                 WireStatus::REJECTED, "not this runner"},
        RuleCase{"copy_to_unknown", [](Fixture& f) { f.owner.copy_to(copy_req(OWNER, 9, 1, 0, 1, {9})); },
                 WireStatus::NOT_FOUND, "not allocated"},
        RuleCase{"copy_to_stale", [](Fixture& f) { f.owner.copy_to(copy_req(OWNER, 1, 2, 0, 1, {9})); },
                 WireStatus::STALE, "stale"},
        RuleCase{"copy_to_freed", [](Fixture& f) { f.owner.copy_to(copy_req(OWNER, 2, 1, 0, 1, {9})); },
                 WireStatus::REJECTED, "was freed"},
        RuleCase{"copy_to_data_length", [](Fixture& f) { f.owner.copy_to(copy_req(OWNER, 1, 1, 0, 2, {9})); },
                 WireStatus::REJECTED, "data bytes"},
        RuleCase{"copy_to_offset_at_end", [](Fixture& f) { f.owner.copy_to(copy_req(OWNER, 1, 1, 8, 1, {9})); },
                 WireStatus::REJECTED, "outside"},
        RuleCase{"copy_to_straddles_end", [](Fixture& f) { f.owner.copy_to(copy_req(OWNER, 1, 1, 7, 2, {9, 9})); },
                 WireStatus::REJECTED, "outside"},
        RuleCase{"copy_to_offset_overflow",
                 [](Fixture& f) { f.owner.copy_to(copy_req(OWNER, 1, 1, UINT64_MAX, 2, {9, 9})); },
                 WireStatus::REJECTED, "outside"},
        RuleCase{"copy_from_other_worker", [](Fixture& f) { f.owner.copy_from(copy_req(OWNER + 1, 1, 1, 0, 1), 64); },
                 WireStatus::REJECTED, "not this runner"},
        RuleCase{"copy_from_unknown", [](Fixture& f) { f.owner.copy_from(copy_req(OWNER, 9, 1, 0, 1), 64); },
                 WireStatus::NOT_FOUND, "not allocated"},
        RuleCase{"copy_from_stale", [](Fixture& f) { f.owner.copy_from(copy_req(OWNER, 1, 3, 0, 1), 64); },
                 WireStatus::STALE, "stale"},
        RuleCase{"copy_from_freed", [](Fixture& f) { f.owner.copy_from(copy_req(OWNER, 2, 1, 0, 1), 64); },
                 WireStatus::REJECTED, "was freed"},
        RuleCase{"copy_from_with_data", [](Fixture& f) { f.owner.copy_from(copy_req(OWNER, 1, 1, 0, 1, {1}), 64); },
                 WireStatus::REJECTED, "data bytes"},
        RuleCase{"copy_from_outside", [](Fixture& f) { f.owner.copy_from(copy_req(OWNER, 1, 1, 7, 2), 64); },
                 WireStatus::REJECTED, "outside"},
        RuleCase{"copy_from_exceeds_reply", [](Fixture& f) { f.owner.copy_from(copy_req(OWNER, 1, 1, 0, 8), 4); },
                 WireStatus::REJECTED, "does not fit one reply"},
        RuleCase{"copy_from_view_stale", [](Fixture& f) { f.owner.copy_from_view(copy_req(OWNER, 1, 3, 0, 1), 64); },
                 WireStatus::STALE, "stale"},
        RuleCase{"copy_from_view_unknown", [](Fixture& f) { f.owner.copy_from_view(copy_req(OWNER, 9, 1, 0, 1), 64); },
                 WireStatus::NOT_FOUND, "not allocated"},
        RuleCase{"copy_from_view_outside", [](Fixture& f) { f.owner.copy_from_view(copy_req(OWNER, 1, 1, 7, 2), 64); },
                 WireStatus::REJECTED, "outside"},
        RuleCase{"copy_from_view_exceeds_reply",
                 [](Fixture& f) { f.owner.copy_from_view(copy_req(OWNER, 1, 1, 0, 8), 4); }, WireStatus::REJECTED,
                 "does not fit one reply"},
        RuleCase{"export_other_owner",
                 [](Fixture& f) { f.owner.export_buffer({OWNER + 1, 1, 1, 0, 4, RW, ""}); }, WireStatus::REJECTED,
                 "not this runner"},
        RuleCase{"export_unknown", [](Fixture& f) { f.owner.export_buffer({OWNER, 9, 1, 0, 4, RW, ""}); },
                 WireStatus::NOT_FOUND, "not allocated"},
        RuleCase{"export_stale", [](Fixture& f) { f.owner.export_buffer({OWNER, 1, 2, 0, 4, RW, ""}); },
                 WireStatus::STALE, "stale"},
        RuleCase{"export_freed", [](Fixture& f) { f.owner.export_buffer({OWNER, 2, 1, 0, 4, RW, ""}); },
                 WireStatus::REJECTED, "was freed"},
        RuleCase{"export_empty", [](Fixture& f) { f.owner.export_buffer({OWNER, 1, 1, 0, 0, RW, ""}); },
                 WireStatus::REJECTED, "0 bytes"},
        RuleCase{"export_outside", [](Fixture& f) { f.owner.export_buffer({OWNER, 1, 1, 6, 4, RW, ""}); },
                 WireStatus::REJECTED, "outside"},
        RuleCase{"export_no_access", [](Fixture& f) { f.owner.export_buffer({OWNER, 1, 1, 0, 4, 0, ""}); },
                 WireStatus::REJECTED, "access flags"},
        RuleCase{"export_unknown_access", [](Fixture& f) { f.owner.export_buffer({OWNER, 1, 1, 0, 4, 4, ""}); },
                 WireStatus::REJECTED, "access flags"},
        RuleCase{"export_other_profile", [](Fixture& f) { f.owner.export_buffer({OWNER, 1, 1, 0, 4, RW, "ucx"}); },
                 WireStatus::UNSUPPORTED, "profile"},
        RuleCase{"import_other_importer",
                 [](Fixture& f) {
                   auto r = f.import_req();
                   r.importer_worker_id = IMPORTER + 1;
                   f.importer.import_buffer(r);
                 },
                 WireStatus::REJECTED, "not this runner"},
        RuleCase{"import_own_buffer", [](Fixture& f) { f.owner.import_buffer({OWNER, 1, f.exported}); },
                 WireStatus::REJECTED, "its own buffer"},
        RuleCase{"import_other_profile",
                 [](Fixture& f) {
                   auto r = f.import_req();
                   r.export_desc.transport_profile = "ucx";
                   f.importer.import_buffer(r);
                 },
                 WireStatus::UNSUPPORTED, "profile"},
        RuleCase{"import_ub_ldst",
                 [](Fixture& f) {
                   auto r = f.import_req();
                   r.export_desc.address_space = S::UB_LDST;
                   f.importer.import_buffer(r);
                 },
                 WireStatus::UNSUPPORTED, "UB_LDST"},
        RuleCase{"import_access_not_subset",
                 [](Fixture& f) {
                   auto r = f.import_req(RW);
                   r.export_desc.access_flags = wire::REMOTE_BUFFER_ACCESS_READ;
                   f.importer.import_buffer(r);
                 },
                 WireStatus::REJECTED, "subset"},
        RuleCase{"import_malformed_descriptor",
                 [](Fixture& f) {
                   auto r = f.import_req();
                   r.export_desc.transport_descriptor.push_back(0);
                   f.importer.import_buffer(r);
                 },
                 WireStatus::REJECTED, "malformed"},
        RuleCase{"import_other_host",
                 [](Fixture& f) {
                   auto r = f.import_req();
                   auto d = decode_host_tcp_export_descriptor(r.export_desc.transport_descriptor);
                   d.host_token[0] ^= 0xff;
                   r.export_desc.transport_descriptor = encode_host_tcp_export_descriptor(d);
                   f.importer.import_buffer(r);
                 },
                 WireStatus::UNSUPPORTED, "host_tcp peer import needs owner and importer on the same host"},
        RuleCase{"import_descriptor_names_other_object",
                 [](Fixture& f) {
                   auto r = f.import_req();
                   auto d = decode_host_tcp_export_descriptor(r.export_desc.transport_descriptor);
                   d.shm_name = "/some-other-object";
                   r.export_desc.transport_descriptor = encode_host_tcp_export_descriptor(d);
                   f.importer.import_buffer(r);
                 },
                 WireStatus::REJECTED, "does not name buffer"},
        RuleCase{"import_owner_gone",
                 [](Fixture& f) {
                   // An export of buffer 2 (freed): its object no longer exists.
                   auto r = f.import_req();
                   r.export_desc.buffer_id = 2;
                   auto d = decode_host_tcp_export_descriptor(r.export_desc.transport_descriptor);
                   d.shm_name = session_shm_name(f.owner.config().session_id, ShmKind::OWNER, 2);
                   r.export_desc.transport_descriptor = encode_host_tcp_export_descriptor(d);
                   f.importer.import_buffer(r);
                 },
                 WireStatus::NOT_FOUND, "no longer exists"},
        RuleCase{"import_range_past_object",
                 [](Fixture& f) {
                   auto r = f.import_req();
                   r.export_desc.nbytes = 64;
                   f.importer.import_buffer(r);
                 },
                 WireStatus::REJECTED, "cannot map"},
        RuleCase{"release_other_importer",
                 [](Fixture& f) { f.importer.release_import({IMPORTER + 1, OWNER, 1, 1, 1}); }, WireStatus::REJECTED,
                 "not this runner"},
        RuleCase{"release_unknown", [](Fixture& f) { f.importer.release_import({IMPORTER, OWNER, 1, 1, 9}); },
                 WireStatus::NOT_FOUND, "not known"},
        RuleCase{"release_stale", [](Fixture& f) { f.importer.release_import({IMPORTER, OWNER, 1, 2, 1}); },
                 WireStatus::STALE, "generation"},
        RuleCase{"release_other_buffer", [](Fixture& f) { f.importer.release_import({IMPORTER, OWNER, 3, 1, 1}); },
                 WireStatus::NOT_FOUND, "does not map"},
        RuleCase{"release_released_mismatch",
                 [](Fixture& f) { f.importer.release_import({IMPORTER, OWNER + 5, 1, 1, 2}); }, WireStatus::NOT_FOUND,
                 "does not map"},
        RuleCase{"task_device_other_owner",
                 [](Fixture& f) { f.owner.resolve_owner(desc(S::REMOTE_DEVICE, IMPORTER, 1, 1, 0, 4)); },
                 WireStatus::REJECTED, "owned by worker 8"},
        RuleCase{"task_device_unknown",
                 [](Fixture& f) { f.owner.resolve_owner(desc(S::REMOTE_DEVICE, OWNER, 9, 1, 0, 4)); },
                 WireStatus::NOT_FOUND, "not allocated"},
        RuleCase{"task_device_stale",
                 [](Fixture& f) { f.owner.resolve_owner(desc(S::REMOTE_DEVICE, OWNER, 1, 2, 0, 4)); },
                 WireStatus::STALE, "stale"},
        RuleCase{"task_device_freed",
                 [](Fixture& f) { f.owner.resolve_owner(desc(S::REMOTE_DEVICE, OWNER, 2, 1, 0, 4)); },
                 WireStatus::REJECTED, "was freed"},
        RuleCase{"task_device_outside",
                 [](Fixture& f) { f.owner.resolve_owner(desc(S::REMOTE_DEVICE, OWNER, 1, 1, 6, 4)); },
                 WireStatus::REJECTED, "outside"},
        RuleCase{"task_window_released",
                 [](Fixture& f) { f.importer.resolve_import(desc(S::REMOTE_WINDOW, OWNER, 1, 1, 2, 4, 2)); },
                 WireStatus::REJECTED, "released"},
        RuleCase{"task_window_stale_generation",
                 [](Fixture& f) { f.importer.resolve_import(desc(S::REMOTE_WINDOW, OWNER, 1, 2, 2, 4, 1)); },
                 WireStatus::STALE, "generation"},
        RuleCase{"task_window_other_import_id",
                 [](Fixture& f) { f.importer.resolve_import(desc(S::REMOTE_WINDOW, OWNER, 1, 1, 2, 4, 7)); },
                 WireStatus::STALE, "not 7"},
        RuleCase{"task_window_unknown",
                 [](Fixture& f) { f.importer.resolve_import(desc(S::REMOTE_WINDOW, OWNER, 5, 1, 0, 4, 9)); },
                 WireStatus::NOT_FOUND, "no import"},
        RuleCase{"task_window_outside_import",
                 [](Fixture& f) { f.importer.resolve_import(desc(S::REMOTE_WINDOW, OWNER, 1, 1, 0, 4, 1)); },
                 WireStatus::REJECTED, "outside the imported range"}),
    case_name);

TEST(BufferRegistry, AllocNamesZeroFillsAndRoundTrips) {
  BufferRegistry r(config_for(OWNER));
  const auto a = r.alloc({4});
  EXPECT_EQ(a.worker_id, OWNER);
  EXPECT_EQ(a.buffer_id, 1u);
  EXPECT_EQ(a.generation, 1u);
  EXPECT_EQ(a.address_space, S::REMOTE_DEVICE);
  EXPECT_EQ(a.nbytes, 4u);
  EXPECT_EQ(a.remote_addr, 0u);
  EXPECT_EQ(r.alloc({16}).buffer_id, 2u);
  const std::string name = *r.owner_shm_name(1);
  EXPECT_EQ(name, fmt::format("/es{:016x}_b1", r.config().session_id));
  EXPECT_EQ(*r.owner_shm_name(2), fmt::format("/es{:016x}_b2", r.config().session_id));
  struct stat st {};
  ASSERT_EQ(::stat(("/dev/shm" + name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(r.copy_from(copy_req(OWNER, 1, 1, 0, 4), 64), std::vector<uint8_t>(4, 0));  // zero-filled
  r.copy_to(copy_req(OWNER, 1, 1, 1, 2, {7, 9}));
  EXPECT_EQ(r.copy_from(copy_req(OWNER, 1, 1, 0, 4), 64), (std::vector<uint8_t>{0, 7, 9, 0}));
  // The view is the allocation itself: the same bytes, and a later write shows through it.
  const std::span<const uint8_t> view = r.copy_from_view(copy_req(OWNER, 1, 1, 1, 3), 64);
  EXPECT_EQ(std::vector<uint8_t>(view.begin(), view.end()), (std::vector<uint8_t>{7, 9, 0}));
  r.copy_to(copy_req(OWNER, 1, 1, 3, 1, {5}));
  EXPECT_EQ(view[2], 5);
  // Per-task inline buffers use the same prefix with kind 'i'.
  const HostBuffer inl = r.make_inline_buffer(3);
  EXPECT_EQ(std::string(inl.shm_name()), fmt::format("/es{:016x}_i1", r.config().session_id));
  EXPECT_EQ(inl.descriptor().access, AccessMode::READ);
}

TEST(BufferRegistry, ShmNamesRoundTripAndStayWithinTheDescriptorBody) {
  const std::string longest = session_shm_name(UINT64_MAX, ShmKind::OWNER, MAX_SHM_COUNTER);
  EXPECT_EQ(longest.size() - 1, DESC_MAX_BYTES);
  EXPECT_THROW(session_shm_name(1, ShmKind::OWNER, MAX_SHM_COUNTER + 1), std::out_of_range);
  EXPECT_THROW(session_shm_name(1, ShmKind::OWNER, 0), std::out_of_range);
  const auto parsed = parse_session_shm_name(session_shm_name(0xabc, ShmKind::INLINE, 0x2f));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->session_id, 0xabcu);
  EXPECT_EQ(parsed->kind, ShmKind::INLINE);
  EXPECT_EQ(parsed->counter, 0x2fu);
  for (const char* bad : {"es0000000000000abc_b1", "/es0000000000000ABC_b1", "/es0000000000000abc_b01",
                          "/es0000000000000abc_x1", "/es000000000000abc_b1", "/es0000000000000abc_b", "/es0000000000000abc_b1/"})
    EXPECT_FALSE(parse_session_shm_name(bad).has_value()) << bad;
}

TEST(BufferRegistry, FreeIsIdempotent) {
  BufferRegistry r(config_for(OWNER));
  r.alloc({8});
  const std::string name = *r.owner_shm_name(1);
  ASSERT_TRUE(shm_exists(name));
  r.free({OWNER, 1, 1});
  EXPECT_FALSE(shm_exists(name));
  EXPECT_EQ(r.owner_count(), 0u);
  EXPECT_NO_THROW(r.free({OWNER, 1, 1}));   // already freed
  EXPECT_NO_THROW(r.free({OWNER, 42, 1}));  // never allocated
  // Ids are not reused: the next allocation is buffer 2.
  EXPECT_EQ(r.alloc({8}).buffer_id, 2u);
}

TEST(BufferRegistry, IdenticalExportReusesItsRegistration) {
  BufferRegistry r(config_for(OWNER));
  r.alloc({8});
  const auto a = r.export_buffer({OWNER, 1, 1, 0, 4, wire::REMOTE_BUFFER_ACCESS_READ, ""});
  const auto b = r.export_buffer({OWNER, 1, 1, 0, 4, wire::REMOTE_BUFFER_ACCESS_READ, ""});
  const auto c = r.export_buffer({OWNER, 1, 1, 4, 4, wire::REMOTE_BUFFER_ACCESS_READ, "host_tcp"});
  EXPECT_EQ(a.export_id, b.export_id);
  EXPECT_NE(a.export_id, c.export_id);
  EXPECT_EQ(r.export_count(), 2u);
  EXPECT_EQ(a.address_space, S::REMOTE_WINDOW);
  EXPECT_EQ(a.rkey_or_token, a.export_id);
  EXPECT_EQ(a.remote_addr, 0u);
  EXPECT_EQ(a.transport_profile, "host_tcp");
  const auto d = decode_host_tcp_export_descriptor(a.transport_descriptor);
  EXPECT_EQ(d.host_token, r.config().host_token);
  EXPECT_EQ(d.shm_name, *r.owner_shm_name(1));
}

TEST(BufferRegistry, ImportedViewSharesTheOwnersBytes) {
  Fixture f;
  const BufferDescriptor view = f.importer.resolve_import(desc(S::REMOTE_WINDOW, OWNER, 1, 1, 2, 4, 1));
  EXPECT_EQ(view.access, AccessMode::READWRITE);
  EXPECT_EQ(view.backend_kind, BackendKind::POSIX_SHM);
  auto* bytes = reinterpret_cast<uint8_t*>(Tensor::view(view, 2, {4}, DataType::UINT8).data());
  EXPECT_EQ(bytes[0], 12);
  for (int i = 0; i < 4; ++i) ++bytes[i];
  EXPECT_EQ(f.owner.copy_from(copy_req(OWNER, 1, 1, 0, 8), 64),
            (std::vector<uint8_t>{10, 11, 13, 14, 15, 16, 16, 17}));
}

TEST(BufferRegistry, RepeatedMatchingReleaseSucceeds) {
  Fixture f;
  EXPECT_NO_THROW(f.importer.release_import({IMPORTER, OWNER, 1, 1, 1}));
  EXPECT_NO_THROW(f.importer.release_import({IMPORTER, OWNER, 1, 1, 1}));
  EXPECT_NO_THROW(f.importer.release_import({IMPORTER, OWNER, 1, 1, 2}));  // released in the fixture
  EXPECT_EQ(f.importer.import_count(), 0u);
}

TEST(BufferRegistry, ReleaseLeavesOwnerAndOtherImports) {
  Fixture f;
  const auto third = f.importer.import_buffer(f.import_req());
  f.importer.release_import({IMPORTER, OWNER, 1, 1, 1});
  EXPECT_EQ(f.importer.import_count(), 1u);
  EXPECT_NO_THROW(f.importer.resolve_import(desc(S::REMOTE_WINDOW, OWNER, 1, 1, 2, 4, third.import_id)));
  EXPECT_TRUE(shm_exists(*f.owner.owner_shm_name(1)));
  EXPECT_EQ(f.owner.copy_from(copy_req(OWNER, 1, 1, 0, 2), 64), (std::vector<uint8_t>{10, 11}));
}

TEST(BufferRegistry, NoResidueAfterDestruction) {
  std::string owner_prefix, importer_prefix;
  {
    Fixture f;
    owner_prefix = session_shm_prefix(f.owner.config().session_id);
    importer_prefix = session_shm_prefix(f.importer.config().session_id);
    f.owner.alloc({4096});
    f.importer.alloc({1});
    const HostBuffer inl = f.owner.make_inline_buffer(8);
    EXPECT_EQ(shm_with_prefix(owner_prefix).size(), 3u);  // b1, b3, i1 (b2 was freed)
    f.importer.release_all();
    EXPECT_EQ(f.importer.import_count(), 0u);
    EXPECT_TRUE(shm_with_prefix(importer_prefix).empty());
    EXPECT_EQ(shm_with_prefix(owner_prefix).size(), 3u) << "releasing imports must not touch the owner's objects";
  }
  EXPECT_TRUE(shm_with_prefix(owner_prefix).empty());
  EXPECT_TRUE(shm_with_prefix(importer_prefix).empty());
}

}  // namespace
}  // namespace echelon::session
