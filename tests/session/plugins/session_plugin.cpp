// Orchestration entries for the session runner tests, loaded by the runner from a plugin dir.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include <cstring>

#include "echelon/callable.h"
#include "echelon/orchestrator.h"
#include "echelon/plugin.h"
#include "echelon/remote_session.h"

namespace {

// Sums the bytes of every (HOST_INLINE) tensor and checks the total against scalar 0, so a
// success proves the inline arena reached the entry intact.
void check_inline_sum(echelon::Orchestrator&, const echelon::TaskArgs& args, const echelon::CallConfig&) {
  uint64_t sum = 0;
  for (size_t i = 0; i < args.tensor_count(); ++i) {
    const auto& t = args.tensor(i);
    if (args.tag(i) != echelon::TensorTag::NO_DEP) throw std::runtime_error("received tensor is not NO_DEP");
    const auto* bytes = reinterpret_cast<const uint8_t*>(t.data());
    for (uint64_t b = 0; b < t.extent_bytes(); ++b) sum += bytes[b];
  }
  if (args.scalar_count() != 1 || args.scalar_bits(0) != sum)
    throw std::runtime_error("inline sum " + std::to_string(sum) + " does not match the expected scalar");
}

void always_fail(echelon::Orchestrator&, const echelon::TaskArgs&, const echelon::CallConfig&) {
  throw std::runtime_error("session test entry failed on purpose");
}

// Runs for scalar 0 milliseconds, so health frames must flow while the command lane is busy.
void sleep_ms(echelon::Orchestrator&, const echelon::TaskArgs& args, const echelon::CallConfig&) {
  std::this_thread::sleep_for(std::chrono::milliseconds(args.scalar_as<uint64_t>(0)));
}

// The hashid of a chip kernel the test passes as four scalars starting at `first` (the digest's
// bytes in order, eight per scalar): the entry finds the kernel on its own inner chips by it.
echelon::CallableHandle chip_kernel(echelon::Orchestrator& orch, const echelon::TaskArgs& args, size_t first) {
  if (args.scalar_count() < first + 4) throw std::runtime_error("the kernel digest needs four scalars");
  echelon::Digest digest{};
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t word = args.scalar_bits(first + i);
    std::memcpy(digest.data() + 8 * i, &word, 8);
  }
  return orch.callable(echelon::to_hashid(digest));
}

// Tensor 0 += scalar 0 (per byte) on inner chip 0, in place: with a REMOTE_DEVICE argument the
// bytes must land in the session's allocation. Scalars 1..4: the inc_u8 kernel's digest.
void chip_increment(echelon::Orchestrator& orch, const echelon::TaskArgs& args, const echelon::CallConfig& config) {
  const auto kernel = chip_kernel(orch, args, 1);
  orch.submit_next_level(kernel, echelon::TaskArgs().inout(args.tensor(0)).scalar(args.scalar_bits(0)), config, 0);
}

// Tensor 1 (one UINT64) = sum of the bytes of tensor 0, on inner chip 0. Scalars 0..3: the sum_u8
// kernel's digest.
void chip_sum(echelon::Orchestrator& orch, const echelon::TaskArgs& args, const echelon::CallConfig& config) {
  const auto kernel = chip_kernel(orch, args, 0);
  orch.submit_next_level(kernel, echelon::TaskArgs().input(args.tensor(0)).output_existing(args.tensor(1)), config, 0);
}

// Four scalars from `first` as a digest (the bytes in order, eight per scalar).
echelon::Digest digest_at(const echelon::TaskArgs& args, size_t first) {
  if (args.scalar_count() < first + 4) throw std::runtime_error("a digest needs four scalars");
  echelon::Digest digest{};
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t word = args.scalar_bits(first + i);
    std::memcpy(digest.data() + 8 * i, &word, 8);
  }
  return digest;
}

void noop(echelon::Orchestrator&, const echelon::TaskArgs&, const echelon::CallConfig&) {}

// Looks the inner callable named by scalars 0..3 up through the runner's inner-handle table
// (callables.md 11) and does nothing else: a missing entry fails the task with the lookup's text.
void inner_probe(echelon::Orchestrator&, const echelon::TaskArgs& args, const echelon::CallConfig&) {
  echelon::remote::inner_handle(echelon::to_hashid(digest_at(args, 0)));
}

// Tensor 0 += scalar 0 (per byte) on inner chip 0, the inc_u8 kernel named by scalars 1..4 and
// found through inner_handle (prefixed hashid).
void inner_chip_increment(echelon::Orchestrator& orch, const echelon::TaskArgs& args, const echelon::CallConfig& config) {
  const auto kernel = echelon::remote::inner_handle(echelon::to_hashid(digest_at(args, 1)));
  orch.submit_next_level(kernel, echelon::TaskArgs().inout(args.tensor(0)).scalar(args.scalar_bits(0)), config, 0);
}

// Runs the inner sub entry named by scalars 0..3 (found through inner_handle, bare hex) on an inner
// SUB worker with scalar 4, writing into tensor 0.
void inner_sub_store(echelon::Orchestrator& orch, const echelon::TaskArgs& args, const echelon::CallConfig&) {
  const std::string hashid = echelon::to_hashid(digest_at(args, 0));
  const auto sub = echelon::remote::inner_handle(std::string_view(hashid).substr(7));
  orch.submit_sub(sub, echelon::TaskArgs().output_existing(args.tensor(0)).scalar(args.scalar_bits(4)));
}

// A sub entry: the first eight bytes of tensor 0 = scalar 0, proving the SUB child got both.
void sub_store_scalar(const echelon::SubCall& call) {
  const uint64_t value = call.args().scalar_bits(0);
  if (call.args().tensor(0).extent_bytes() < sizeof value) throw std::runtime_error("tensor 0 is too small");
  std::memcpy(call.data(0), &value, sizeof value);
}

}  // namespace

ECHELON_PLUGIN();
#ifdef SESSION_PLUGIN_VARIANT
// Makes the variant's file differ from the plain build (same entries, different bytes).
extern "C" __attribute__((visibility("default"))) const char session_plugin_variant[] = "variant build";
#endif
ECHELON_ORCH_ENTRY(session_noop, noop)
ECHELON_ORCH_ENTRY(session_inner_probe, inner_probe)
ECHELON_ORCH_ENTRY(session_inner_chip_increment, inner_chip_increment)
ECHELON_ORCH_ENTRY(session_inner_sub_store, inner_sub_store)
ECHELON_SUB_ENTRY(session_sub_store_scalar, sub_store_scalar)
ECHELON_ORCH_ENTRY(session_chip_increment, chip_increment)
ECHELON_ORCH_ENTRY(session_chip_sum, chip_sum)
ECHELON_ORCH_ENTRY(session_check_inline_sum, check_inline_sum)
ECHELON_ORCH_ENTRY(session_always_fail, always_fail)
ECHELON_ORCH_ENTRY(session_sleep_ms, sleep_ms)
