#include "endpoint/mailbox.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <ctime>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {

size_t encode_task_payload(uint8_t* out, const Digest& digest, const CallConfig& config,
                           const std::vector<Tensor>& tensors, const std::vector<uint64_t>& scalars) {
  if (tensors.size() > MAX_TENSORS || scalars.size() > MAX_SCALARS)
    throw ValidationError(fmt::format("mailbox: {} tensors / {} scalars exceed the frame", tensors.size(), scalars.size()));
  uint8_t* p = out;
  std::memcpy(p, digest.data(), digest.size());
  p += digest.size();
  std::memcpy(p, &config, sizeof config);
  p += sizeof config;
  const uint32_t t = static_cast<uint32_t>(tensors.size()), s = static_cast<uint32_t>(scalars.size());
  std::memcpy(p, &t, 4);
  std::memcpy(p + 4, &s, 4);
  p += 8;
  if (t) std::memcpy(p, tensors.data(), t * sizeof(Tensor));
  p += t * sizeof(Tensor);
  if (s) std::memcpy(p, scalars.data(), s * sizeof(uint64_t));
  p += s * sizeof(uint64_t);
  return static_cast<size_t>(p - out);
}

DecodedTask decode_task_payload(const uint8_t* in, size_t bytes) {
  constexpr size_t head = CALLABLE_HASH_DIGEST_SIZE + sizeof(CallConfig) + 8;
  if (bytes < head || bytes > TASK_PAYLOAD_BYTES)
    throw ValidationError(fmt::format("mailbox: task payload of {} bytes is outside {}..{}", bytes, head, TASK_PAYLOAD_BYTES));
  DecodedTask d;
  std::memcpy(d.digest.data(), in, d.digest.size());
  std::memcpy(&d.config, in + CALLABLE_HASH_DIGEST_SIZE, sizeof(CallConfig));
  uint32_t t, s;
  std::memcpy(&t, in + head - 8, 4);
  std::memcpy(&s, in + head - 4, 4);
  if (t > MAX_TENSORS || s > MAX_SCALARS)
    throw ValidationError(fmt::format("mailbox: task declares {} tensors / {} scalars, limits are {} / {}", t, s,
                                      MAX_TENSORS, MAX_SCALARS));
  if (bytes != head + t * sizeof(Tensor) + s * sizeof(uint64_t))
    throw ValidationError(fmt::format("mailbox: task payload is {} bytes, its counts need {}", bytes,
                                      head + t * sizeof(Tensor) + s * sizeof(uint64_t)));
  d.config.validate();
  std::vector<Tensor> tensors(t);
  if (t) std::memcpy(tensors.data(), in + head, t * sizeof(Tensor));
  for (uint32_t i = 0; i < t; ++i) {
    try {
      if (!tensors[i].bound()) throw ValidationError("tensor is unbound");
      tensors[i].validate();
    } catch (const ValidationError& e) {
      throw ValidationError(fmt::format("mailbox: tensor {}: {}", i, e.what()));
    }
  }
  std::vector<uint64_t> scalars(s);
  if (s) std::memcpy(scalars.data(), in + head + t * sizeof(Tensor), s * sizeof(uint64_t));
  d.args = TaskArgs::from_dispatched(std::move(tensors), std::move(scalars));
  return d;
}

void futex_wake_all(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

void futex_wait(std::atomic<uint32_t>& word, uint32_t seen, int timeout_ms) {
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, seen, timeout_ms < 0 ? nullptr : &ts, nullptr, 0);
}

void set_frame_error(MailboxFrame& frame, int32_t code, std::string_view text) {
  const std::string cut = truncate_utf8(text, MAILBOX_ERROR_BYTES - 1);
  std::memcpy(frame.error_text, cut.data(), cut.size());
  frame.error_text[cut.size()] = '\0';
  frame.error_bytes = static_cast<uint32_t>(cut.size());
  frame.error = code;
}

std::string frame_error(const MailboxFrame& frame) {
  const size_t n = std::min<size_t>(frame.error_bytes, MAILBOX_ERROR_BYTES - 1);
  return std::string(frame.error_text, strnlen(frame.error_text, n));
}

}  // namespace echelon
