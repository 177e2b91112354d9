// DeviceArena: DEVICE_MALLOC backings from a fork-shared region, first fit, coalescing, refusals.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "chip/device_arena.h"
#include "chip_test_support.h"
#include "echelon/chip_callable.h"

namespace echelon::chip {
namespace {

constexpr uint64_t A = DeviceArena::ALIGNMENT;

std::string refusal(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ChipError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ChipError";
  return {};
}

TEST(DeviceArena, AllocHandsOutAlignedDeviceBackings) {
  DeviceArena arena(64 * 1024, 7);
  const BufferDescriptor a = arena.alloc(100);
  const BufferDescriptor b = arena.alloc(1);
  for (const auto& d : {a, b}) {
    EXPECT_NO_THROW(d.validate());
    EXPECT_EQ(d.backend_kind, BackendKind::DEVICE_MALLOC);
    EXPECT_EQ(d.address_space, AddressSpace::DEVICE);
    EXPECT_EQ(d.access, AccessMode::READWRITE);
    EXPECT_EQ(d.owner_worker_path_id, 7u);
    EXPECT_EQ(d.base_address() % A, 0u);
    EXPECT_GE(d.base_address(), reinterpret_cast<uint64_t>(arena.base()));
  }
  EXPECT_EQ(a.nbytes, 100u);
  EXPECT_EQ(b.base_address() - a.base_address(), A) << "first fit packs 256-byte blocks";
  EXPECT_FALSE(a.identity == b.identity);
  EXPECT_EQ(arena.used_bytes(), 2 * A);
  EXPECT_EQ(arena.live_allocations(), 2u);
}

TEST(DeviceArena, FreeCoalesces) {
  DeviceArena arena(4 * A, 0);
  const auto a = arena.alloc(A), b = arena.alloc(A), c = arena.alloc(A), d = arena.alloc(A);
  arena.free(a);
  arena.free(c);
  EXPECT_EQ(arena.free_blocks(), 2u);
  arena.free(b);  // joins a and c
  EXPECT_EQ(arena.free_blocks(), 1u);
  EXPECT_EQ(arena.largest_free_block(), 3 * A);
  arena.free(d);
  EXPECT_EQ(arena.free_blocks(), 1u);
  EXPECT_EQ(arena.largest_free_block(), 4 * A);
  EXPECT_EQ(arena.used_bytes(), 0u);
  EXPECT_EQ(arena.alloc(4 * A).base_address(), reinterpret_cast<uint64_t>(arena.base()));
}

TEST(DeviceArena, FirstFitReusesEarliestHole) {
  DeviceArena arena(8 * A, 0);
  const auto a = arena.alloc(2 * A), b = arena.alloc(A), c = arena.alloc(2 * A);
  arena.free(a);
  arena.free(c);
  EXPECT_EQ(arena.alloc(A).base_address(), a.base_address());
  EXPECT_EQ(arena.alloc(2 * A).base_address(), c.base_address()) << "the 1-block remainder of a's hole is too small";
  (void)b;
}

TEST(DeviceArena, DoubleFreeRejected) {
  DeviceArena arena(4 * A, 0);
  const auto a = arena.alloc(10);
  arena.free(a);
  EXPECT_CONTAINS(refusal([&] { arena.free(a); }), "double free of buffer");
  // Still a double free after the offset is handed out again, and the new owner is untouched.
  const auto again = arena.alloc(10);
  ASSERT_EQ(again.base_address(), a.base_address());
  EXPECT_CONTAINS(refusal([&] { arena.free(a); }), "double free");
  EXPECT_EQ(arena.live_allocations(), 1u);
  arena.free(again);
}

TEST(DeviceArena, UnknownOrForeignBackingsRejected) {
  DeviceArena arena(4 * A, 0), other(4 * A, 1);
  const auto mine = arena.alloc(16);
  const auto theirs = other.alloc(16);
  EXPECT_CONTAINS(refusal([&] { arena.free(theirs); }), "was not allocated from this arena");
  BufferDescriptor forged = mine;
  forged.identity = new_local_identity();
  EXPECT_CONTAINS(refusal([&] { arena.free(forged); }), "no live allocation has that identity");
  BufferDescriptor resized = mine;
  resized.nbytes = 32;
  EXPECT_CONTAINS(refusal([&] { arena.free(resized); }), "does not match the live allocation of 16 bytes");
  std::vector<float> host(4);
  const auto host_desc = make_address_descriptor(BackendKind::FORK_SHM, AddressSpace::HOST, AccessMode::READWRITE,
                                                 new_local_identity(), 16, reinterpret_cast<uint64_t>(host.data()));
  EXPECT_CONTAINS(refusal([&] { arena.free(host_desc); }), "FORK_SHM is not a DEVICE_MALLOC backing");
  EXPECT_EQ(arena.live_allocations(), 1u);
}

TEST(DeviceArena, FullArenaNamesUsage) {
  DeviceArena arena(4 * A, 2);
  const auto a = arena.alloc(3 * A);
  EXPECT_CONTAINS(refusal([&] { arena.alloc(2 * A); }),
                  "device arena full: 768 of 1024 bytes in use on chip 2; cannot allocate 512 bytes (largest free "
                  "block is 256 bytes)");
  EXPECT_CONTAINS(refusal([&] { arena.alloc(UINT64_MAX); }), "device arena full");
  EXPECT_CONTAINS(refusal([&] { arena.alloc(0); }), "cannot allocate 0 bytes");
  arena.free(a);
  EXPECT_NO_THROW(arena.alloc(4 * A));
}

TEST(DeviceArena, ResolveChecksViewLiesInArena) {
  DeviceArena arena(4 * A, 0);
  const auto d = arena.alloc(64);
  const Tensor t = Tensor::view(d, 16, {4}, DataType::FLOAT32);
  EXPECT_EQ(arena.resolve(t), reinterpret_cast<void*>(d.base_address() + 16));
  DeviceArena other(4 * A, 1);
  EXPECT_THROW(other.resolve(t), ChipError);
}

TEST(DeviceArena, SharedWithForkedChild) {
  DeviceArena arena(A, 0);
  const auto d = arena.alloc(sizeof(uint32_t));
  auto* word = reinterpret_cast<uint32_t*>(d.base_address());
  *word = 1;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child sees the parent's value at the same address and writes back through it.
    *word = *word == 1 ? 0xC0FFEE : 0xBAD;
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(*word, 0xC0FFEEu);
}

TEST(DeviceArena, MovedArenaKeepsAllocations) {
  DeviceArena arena(4 * A, 0);
  const auto d = arena.alloc(8);
  DeviceArena moved = std::move(arena);
  EXPECT_NO_THROW(moved.free(d));
  EXPECT_EQ(moved.used_bytes(), 0u);
}

}  // namespace
}  // namespace echelon::chip
