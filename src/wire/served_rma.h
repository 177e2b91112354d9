// Served RMA: the messages a runner's UCX data plane exchanges with a peer data plane where one-sided
// RMA would be emulated by the peer (UCX over tcp). The owner of the memory answers get and put
// requests itself, so a requester dying mid-transfer is an ordinary failed send for the owner
// (transport/ucx_data_engine.h). Each message is one active message: a little-endian header as the
// AM header, the bytes as the AM data.
//
//   request, header:
//     u8 version (1) | u8 op (1 GET, 2 PUT) | u16 reserved (0) | u32 reserved (0)
//     u64 request_id | u64 requester_epoch | u64 remote_addr | u64 length
//     blob requester_address (u32 length, <= 4096) | blob packed_rkey (<= 4096)
//   requester_epoch grows each time the requester connects to this owner anew (after a failure or a
//   timeout dropped its endpoint); the owner then answers through a new endpoint too, instead of
//   one that may still be paired with the requester's closed one.
//   data: PUT: exactly `length` bytes; GET: none.
//
//   reply, header:
//     u8 version (1) | u8 op (echoed) | u16 status (RmaStatus) | u32 reserved (0) | u64 request_id
//   data: a GET answered OK: exactly the requested `length` bytes; otherwise none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace echelon::wire {

inline constexpr uint8_t kServedRmaVersion = 1;
// One request moves at most this many bytes; larger transfers are split.
inline constexpr size_t kMaxServedRmaBytes = size_t{8} << 20;
inline constexpr size_t kMaxServedRmaAddressBytes = 4096;
inline constexpr size_t kMaxServedRmaRkeyBytes = 4096;

enum class RmaOp : uint8_t { GET = 1, PUT = 2 };

enum class RmaStatus : uint16_t {
  OK = 0,
  // [remote_addr, remote_addr + length) is not inside a registration of the owner whose packed key
  // is the one given (never registered, or freed since).
  NOT_REGISTERED = 1,
};
const char* to_string(RmaStatus status) noexcept;

struct ServedRmaRequest {
  RmaOp op = RmaOp::GET;
  uint64_t request_id = 0;
  uint64_t requester_epoch = 0;
  uint64_t remote_addr = 0;
  uint64_t length = 0;
  std::vector<uint8_t> requester_address;
  std::vector<uint8_t> packed_rkey;
};

struct ServedRmaReply {
  RmaOp op = RmaOp::GET;
  RmaStatus status = RmaStatus::OK;
  uint64_t request_id = 0;
};

// Encoders check the bounds above (std::invalid_argument); decoders throw WireError naming the
// field for anything malformed, truncated, or followed by extra bytes. Canonical: what a decoder
// accepts, its encoder reproduces byte for byte.
std::vector<uint8_t> encode_served_rma_request(const ServedRmaRequest& request);
std::vector<uint8_t> encode_served_rma_reply(const ServedRmaReply& reply);
ServedRmaRequest decode_served_rma_request(std::span<const uint8_t> header);
ServedRmaReply decode_served_rma_reply(std::span<const uint8_t> header);

// The data length a well-formed request carries after its header.
inline size_t expected_data_bytes(const ServedRmaRequest& r) noexcept {
  return r.op == RmaOp::PUT ? static_cast<size_t>(r.length) : 0;
}

}  // namespace echelon::wire
