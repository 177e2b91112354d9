// HELLO payload with the echelon extension block (protocol.md sections 5 and 15.1).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wire/byte_writer.h"
#include "wire/frame_header.h"

namespace echelon::wire {

enum class ReadyState : uint32_t { NOT_READY = 0, READY = 1 };
constexpr bool is_known(ReadyState s) { return static_cast<uint32_t>(s) <= 1; }

inline constexpr uint64_t FEATURE_AUTH_HMAC_SHA256 = 0x01;
inline constexpr uint64_t FEATURE_PIPELINED_TASKS = 0x02;
inline constexpr uint64_t FEATURE_PYTHON_IMPORT = 0x04;
inline constexpr uint64_t FEATURE_PYTHON_SERIALIZED = 0x08;
inline constexpr uint64_t FEATURE_STAGED_BLOB = 0x10;
inline constexpr uint64_t FEATURE_GLOBAL_COMM_DOMAIN = 0x20;
inline constexpr uint64_t FEATURES_KNOWN = 0x3F;

inline constexpr uint32_t HELLO_EXT_VERSION = 1;
inline constexpr uint32_t MAX_PIPELINED_TASKS = 16;

using AuthBytes = std::array<uint8_t, 32>;

struct HelloExt {
  uint32_t ext_version = HELLO_EXT_VERSION;
  uint32_t max_tasks_in_flight = 1;
  AuthBytes auth_nonce{};
  AuthBytes auth_mac{};

  friend bool operator==(const HelloExt&, const HelloExt&) = default;
};

struct HelloPayload {
  uint64_t session_id = 0;
  int32_t worker_id = 0;
  uint32_t protocol_version = WIRE_VERSION;
  std::string comm_profile;
  uint64_t feature_flags = 0;
  ReadyState ready_state = ReadyState::READY;
  std::optional<HelloExt> ext;  // present exactly when feature_flags != 0

  friend bool operator==(const HelloPayload&, const HelloPayload&) = default;
};

// Field rules shared by both directions; throws WireError naming the field.
void validate(const HelloPayload& hello);
void write_hello(ByteWriter& out, const HelloPayload& hello);
std::vector<uint8_t> encode_hello(const HelloPayload& hello);
HelloPayload decode_hello(std::span<const uint8_t> payload);
// The payload must repeat the header's session, worker and version; HELLO travels at sequence 0.
void check_hello_matches_header(const HelloPayload& hello, const FrameHeader& header);
// Bytes of the encoded payload up to and including auth_nonce: the MAC input of 15.3.
size_t hello_mac_input_bytes(const HelloPayload& hello);

}  // namespace echelon::wire
