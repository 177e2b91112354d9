// The shared-memory mailbox between a parent and one local child (runtime.md RT-701..703).
// Same binary on both sides (fork, no exec), so payloads copy trivially-copyable structs as bytes;
// the layout hash guards that and the child re-validates every decoded value.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "echelon/call_config.h"
#include "echelon/callable.h"
#include "echelon/task_args.h"
#include "echelon/tensor.h"

namespace echelon {

inline constexpr uint64_t MAILBOX_MAGIC = 0x584f424c49414d45ull;  // "EMAILBOX"
inline constexpr uint32_t MAILBOX_LAYOUT_VERSION = 1;
inline constexpr size_t MAILBOX_ERROR_BYTES = 4096;

// [digest][CallConfig][u32 T][u32 S][Tensor x T][u64 x S], sized for the largest TaskArgs (RT-205).
inline constexpr size_t TASK_PAYLOAD_BYTES = CALLABLE_HASH_DIGEST_SIZE + sizeof(CallConfig) + 2 * sizeof(uint32_t) +
                                             MAX_TENSORS * sizeof(Tensor) + MAX_SCALARS * sizeof(uint64_t);
inline constexpr size_t CONTROL_PAYLOAD_BYTES = 64 * 1024;
inline constexpr size_t CONTROL_NAME_BYTES = 64;

enum class FrameState : uint32_t {
  IDLE = 0,
  TASK_READY = 1,       // parent -> child
  TASK_DONE = 2,        // child -> parent
  CONTROL_REQUEST = 3,  // parent -> child
  CONTROL_DONE = 4,     // child -> parent
  INIT_READY = 5,       // child -> parent, control frame, once
  INIT_FAILED = 6,      // child -> parent, control frame, once; error text says why
};

struct alignas(64) MailboxFrame {
  std::atomic<uint32_t> state{0};
  int32_t error = 0;
  uint32_t payload_bytes = 0;
  uint32_t error_bytes = 0;
  uint64_t sequence = 0;  // dispatch id of a task
  char name[CONTROL_NAME_BYTES]{};
  char error_text[MAILBOX_ERROR_BYTES]{};  // UTF-8, NUL-terminated, cut on a character boundary
};

struct Mailbox {
  uint64_t magic = MAILBOX_MAGIC;
  uint32_t layout_version = MAILBOX_LAYOUT_VERSION;
  uint32_t layout_hash = 0;
  // Set 0 -> 1 by the parent only, never cleared: shutdown never travels in a state word, so a
  // concurrent CONTROL_DONE cannot overwrite it (lessons #1663).
  std::atomic<uint32_t> shutdown{0};
  // Bumped by the parent for every request (task, control, shutdown); the child parks on it.
  std::atomic<uint32_t> child_bell{0};
  // Non-zero while the child is (about to be) parked on child_bell: only then does the parent pay
  // for a futex wake.
  std::atomic<uint32_t> child_parked{0};
  MailboxFrame control;
  alignas(64) uint8_t control_payload[CONTROL_PAYLOAD_BYTES];
  MailboxFrame task;
  alignas(64) uint8_t task_payload[TASK_PAYLOAD_BYTES];
};
static_assert(std::atomic<uint32_t>::is_always_lock_free, "futex words must be lock-free");
static_assert(sizeof(Mailbox) < (1u << 20), "a mailbox should stay small");

constexpr uint32_t mailbox_layout_hash() {
  return static_cast<uint32_t>(sizeof(Mailbox) * 31 + sizeof(Tensor) * 7 + sizeof(CallConfig) * 3 + MAX_TENSORS +
                               MAX_SCALARS);
}

// Writes a task payload; returns its size. Tags are not encoded (RT-207).
size_t encode_task_payload(uint8_t* out, const Digest& digest, const CallConfig& config,
                           const std::vector<Tensor>& tensors, const std::vector<uint64_t>& scalars);

struct DecodedTask {
  Digest digest{};
  CallConfig config;
  TaskArgs args;
};
// Decodes and re-validates a task payload; throws ValidationError naming what is wrong.
DecodedTask decode_task_payload(const uint8_t* in, size_t bytes);

// Futex helpers on a word in shared memory.
void futex_wake_all(std::atomic<uint32_t>& word);
// Waits while `word == seen`, at most `timeout_ms` (-1 = no limit).
void futex_wait(std::atomic<uint32_t>& word, uint32_t seen, int timeout_ms);

// Copies `text` into a frame's error field, cut on a UTF-8 boundary.
void set_frame_error(MailboxFrame& frame, int32_t code, std::string_view text);
std::string frame_error(const MailboxFrame& frame);

}  // namespace echelon
