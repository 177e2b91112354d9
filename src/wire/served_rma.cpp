#include "wire/served_rma.h"

#include <fmt/format.h>

#include <stdexcept>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/wire_error.h"

namespace echelon::wire {
namespace {

void check_version(ByteReader& in) {
  const uint8_t version = in.u8("version");
  if (version != kServedRmaVersion) {
    throw WireError(WireErrc::BAD_VERSION, "version",
                          fmt::format("served RMA message version {}, this build speaks {}", version, kServedRmaVersion));
  }
}

RmaOp read_op(ByteReader& in) {
  const uint8_t op = in.u8("op");
  if (op != static_cast<uint8_t>(RmaOp::GET) && op != static_cast<uint8_t>(RmaOp::PUT)) {
    throw WireError(WireErrc::UNKNOWN_ENUM, "op",
                    fmt::format("served RMA op {} is neither GET (1) nor PUT (2)", op));
  }
  return static_cast<RmaOp>(op);
}

}  // namespace

const char* to_string(RmaStatus status) noexcept {
  switch (status) {
    case RmaStatus::OK:
      return "OK";
    case RmaStatus::NOT_REGISTERED:
      return "NOT_REGISTERED";
  }
  return "unknown status";
}

std::vector<uint8_t> encode_served_rma_request(const ServedRmaRequest& r) {
  if (r.length > kMaxServedRmaBytes) {
    throw std::invalid_argument(fmt::format("RMA request of {} bytes exceeds {}", r.length, kMaxServedRmaBytes));
  }
  ByteWriter out(48 + r.requester_address.size() + r.packed_rkey.size());
  out.u8(kServedRmaVersion);
  out.u8(static_cast<uint8_t>(r.op));
  out.u16(0);
  out.reserved_u32();
  out.u64(r.request_id);
  out.u64(r.requester_epoch);
  out.u64(r.remote_addr);
  out.u64(r.length);
  out.blob("requester_address", r.requester_address, kMaxServedRmaAddressBytes);
  out.blob("packed_rkey", r.packed_rkey, kMaxServedRmaRkeyBytes);
  return out.take();
}

std::vector<uint8_t> encode_served_rma_reply(const ServedRmaReply& r) {
  ByteWriter out(16);
  out.u8(kServedRmaVersion);
  out.u8(static_cast<uint8_t>(r.op));
  out.u16(static_cast<uint16_t>(r.status));
  out.reserved_u32();
  out.u64(r.request_id);
  return out.take();
}

ServedRmaRequest decode_served_rma_request(std::span<const uint8_t> header) {
  ByteReader in(header, "served RMA request");
  ServedRmaRequest r;
  check_version(in);
  r.op = read_op(in);
  if (in.u16("reserved") != 0) throw WireError(WireErrc::RESERVED_NONZERO, "reserved", "not zero");
  in.reserved_u32("reserved");
  r.request_id = in.u64("request_id");
  r.requester_epoch = in.u64("requester_epoch");
  r.remote_addr = in.u64("remote_addr");
  r.length = in.u64("length");
  if (r.length == 0 || r.length > kMaxServedRmaBytes) {
    throw WireError(WireErrc::INVALID_VALUE, "length",
                          fmt::format("{} bytes; a request moves 1 to {}", r.length, kMaxServedRmaBytes));
  }
  if (r.remote_addr + r.length < r.remote_addr) {
    throw WireError(WireErrc::OUT_OF_RANGE, "remote_addr", "the range wraps around the address space");
  }
  const auto address = in.blob("requester_address", kMaxServedRmaAddressBytes);
  const auto rkey = in.blob("packed_rkey", kMaxServedRmaRkeyBytes);
  in.expect_end();
  if (address.empty()) throw WireError(WireErrc::INVALID_VALUE, "requester_address", "empty");
  r.requester_address.assign(address.begin(), address.end());
  r.packed_rkey.assign(rkey.begin(), rkey.end());
  return r;
}

ServedRmaReply decode_served_rma_reply(std::span<const uint8_t> header) {
  ByteReader in(header, "served RMA reply");
  ServedRmaReply r;
  check_version(in);
  r.op = read_op(in);
  const uint16_t status = in.u16("status");
  if (status > static_cast<uint16_t>(RmaStatus::NOT_REGISTERED)) {
    throw WireError(WireErrc::UNKNOWN_ENUM, "status", fmt::format("RMA status {}", status));
  }
  r.status = static_cast<RmaStatus>(status);
  in.reserved_u32("reserved");
  r.request_id = in.u64("request_id");
  in.expect_end();
  return r;
}

}  // namespace echelon::wire
