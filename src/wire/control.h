// CONTROL and CONTROL_REPLY envelopes (protocol.md section 8) and the control catalogue (9).
// The envelopes are views: command and result bytes stay in the frame they arrived in, and the
// typed layouts (register_controls.h, buffer_controls.h) decode from there.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "wire/byte_writer.h"
#include "wire/frame_header.h"
#include "wire/wire_status.h"

namespace echelon::wire {

enum class ControlName : uint32_t {
  UNREGISTER_CALLABLE = 1,
  PREPARE_REGISTER_CALLABLE = 2,
  COMMIT_REGISTER_CALLABLE = 3,
  ABORT_REGISTER_CALLABLE = 4,
  PREPARE_CALLABLE = 5,
  ALLOC_REMOTE_BUFFER = 6,
  FREE_REMOTE_BUFFER = 7,
  COPY_TO_REMOTE = 8,
  COPY_FROM_REMOTE = 9,
  EXPORT_BUFFER = 10,
  IMPORT_BUFFER = 11,
  RELEASE_IMPORT = 12,
  COMM_INIT = 13,
  ALLOC_DOMAIN = 14,
  RELEASE_DOMAIN = 15,
  COPY_TO_DOMAIN = 16,
  COPY_FROM_DOMAIN = 17,
};
inline constexpr uint32_t CONTROL_NAME_MIN = 1;
inline constexpr uint32_t CONTROL_NAME_MAX = 17;
constexpr bool is_known(ControlName n) {
  return static_cast<uint32_t>(n) >= CONTROL_NAME_MIN && static_cast<uint32_t>(n) <= CONTROL_NAME_MAX;
}
const char* to_string(ControlName n);

enum class ControlFamily { REGISTER, BUFFER, DOMAIN };
ControlFamily family_of(ControlName n);

// Version 1 of every register/buffer control, plus version 2 of the two copies (ucx RMA). The
// domain family is reserved: known names, no implemented version.
bool is_implemented(ControlName n, uint32_t version);

struct ControlRequest {
  ControlName name = ControlName::PREPARE_CALLABLE;
  uint32_t version = 1;
  std::span<const uint8_t> command;
};

struct ControlReply {
  uint64_t sequence = 0;
  ControlName name = ControlName::PREPARE_CALLABLE;
  uint32_t version = 1;
  int32_t error_code = 0;  // read through status_from_code
  std::string_view error_message;
  std::span<const uint8_t> result;

  WireStatus status() const { return status_from_code(error_code); }
};

// Which request a reply must answer.
struct AwaitedControl {
  uint64_t sequence = 0;
  ControlName name = ControlName::PREPARE_CALLABLE;
  uint32_t version = 1;
};

void write_control(ByteWriter& out, const ControlRequest& c);
std::vector<uint8_t> encode_control(const ControlRequest& c);
// Rejects unknown names, version 0 and a command_len past the end; the views point into `payload`.
ControlRequest decode_control(std::span<const uint8_t> payload);

void write_control_reply(ByteWriter& out, const ControlReply& r);
std::vector<uint8_t> encode_control_reply(const ControlReply& r);
ControlReply decode_control_reply(std::span<const uint8_t> payload);
// Parent-side decode: a CONTROL_REPLY whose header and payload sequence, name and version are the
// awaited request's.
ControlReply decode_control_reply(const FrameView& frame, const AwaitedControl& awaited);

}  // namespace echelon::wire
