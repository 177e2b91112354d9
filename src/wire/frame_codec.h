// Whole frames with typed payloads: the header plus the decoded payload of its frame type, and for
// controls the typed command or result inside the envelope. One entry point that exercises every
// decoder, and its exact inverse.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "wire/completion.h"
#include "wire/control.h"
#include "wire/control_catalogue.h"
#include "wire/frame_header.h"
#include "wire/hello.h"
#include "wire/task_payload.h"

namespace echelon::wire {

struct HeaderOnly {
  friend bool operator==(const HeaderOnly&, const HeaderOnly&) = default;
};
// The 32-byte payload of a sequence-0 HEALTH frame in the authentication handshake (15.3).
struct HealthProof {
  AuthBytes bytes{};
  friend bool operator==(const HealthProof&, const HealthProof&) = default;
};

struct TypedControl {
  ControlName name = ControlName::PREPARE_CALLABLE;
  uint32_t version = 1;
  ControlCommand command;
  friend bool operator==(const TypedControl&, const TypedControl&) = default;
};

struct TypedControlReply {
  uint64_t sequence = 0;
  ControlName name = ControlName::PREPARE_CALLABLE;
  uint32_t version = 1;
  int32_t error_code = 0;
  std::string error_message;
  // A successful reply carries its typed result; a failed one keeps its raw bytes (the control was
  // not applied, so they have no layout to check).
  std::variant<ControlResult, std::vector<uint8_t>> result;
  friend bool operator==(const TypedControlReply&, const TypedControlReply&) = default;
};

using TypedPayload =
    std::variant<HeaderOnly, HealthProof, HelloPayload, TaskPayload, TypedControl, TypedControlReply, CompletionPayload>;

struct TypedFrame {
  FrameHeader header;  // payload_bytes is recomputed on encode
  TypedPayload payload;
};

// Decodes the frame and everything in it; for HELLO also checks it against its header.
TypedFrame decode_typed_frame(std::span<const uint8_t> bytes, uint32_t max_payload = MAX_FRAME_PAYLOAD_BYTES);
// The inverse; refuses a payload alternative that does not belong to header.type.
std::vector<uint8_t> encode_typed_frame(const TypedFrame& frame);

// The start of a frame whose payload is `payload_head` followed by `tail_bytes` more bytes that the
// caller sends from elsewhere (scatter/gather): the header announces the whole payload and is
// checked like encode_frame's (a payload over the maximum throws WireError).
std::vector<uint8_t> encode_frame_head(FrameType type, const FrameRoute& route, std::span<const uint8_t> payload_head,
                                       uint64_t tail_bytes);

}  // namespace echelon::wire
