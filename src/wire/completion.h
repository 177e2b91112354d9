// COMPLETION payload (protocol.md section 7): the only task-completion signal.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/byte_writer.h"
#include "wire/frame_header.h"
#include "wire/wire_status.h"

namespace echelon::wire {

struct CompletionPayload {
  uint64_t sequence = 0;
  int32_t error_code = 0;  // decoded as received; read it through status_from_code
  std::string error_message;

  WireStatus status() const { return status_from_code(error_code); }
  friend bool operator==(const CompletionPayload&, const CompletionPayload&) = default;
};

// A completion whose text is made sendable (repaired, cut at a UTF-8 boundary to 4096 bytes).
CompletionPayload make_completion(uint64_t sequence, WireStatus status, std::string_view text);

// The encoder writes only codes 0-5 and text of at most 4096 bytes of valid UTF-8.
void write_completion(ByteWriter& out, const CompletionPayload& c);
std::vector<uint8_t> encode_completion(const CompletionPayload& c);
// Structural decode: any i32 code is accepted (unknown ones read as FAILED).
CompletionPayload decode_completion(std::span<const uint8_t> payload);
// Parent-side decode of a received frame: it must be a COMPLETION whose header and payload both
// carry the awaited sequence.
CompletionPayload decode_completion(const FrameView& frame, uint64_t awaited_sequence);

}  // namespace echelon::wire
