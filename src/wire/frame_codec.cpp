#include "wire/frame_codec.h"

#include <algorithm>

#include "fmt/format.h"
#include "wire/wire_error.h"

namespace echelon::wire {
namespace {

TypedPayload decode_payload(const FrameView& f) {
  switch (f.header.type) {
    case FrameType::HELLO: {
      HelloPayload h = decode_hello(f.payload);
      check_hello_matches_header(h, f.header);
      return h;
    }
    case FrameType::TASK: return decode_task(f.payload);
    case FrameType::CONTROL: {
      const ControlRequest c = decode_control(f.payload);
      return TypedControl{c.name, c.version, decode_control_command(c.name, c.version, c.command)};
    }
    case FrameType::CONTROL_REPLY: {
      const ControlReply r = decode_control_reply(f.payload);
      TypedControlReply t{r.sequence, r.name, r.version, r.error_code, std::string(r.error_message), {}};
      if (r.error_code == 0) {
        t.result = decode_control_result(r.name, r.version, r.result);
      } else {
        t.result = std::vector<uint8_t>(r.result.begin(), r.result.end());
      }
      return t;
    }
    case FrameType::COMPLETION: return decode_completion(f.payload);
    case FrameType::HEALTH:
      if (!f.payload.empty()) {
        HealthProof p;
        std::copy(f.payload.begin(), f.payload.end(), p.bytes.begin());  // the header check fixed its size
        return p;
      }
      return HeaderOnly{};
    case FrameType::SHUTDOWN: return HeaderOnly{};
  }
  fail(WireErrc::UNKNOWN_FRAME_TYPE, "FrameHeader.frame_type", "frame type is unknown");
}

template <typename T>
const T& payload_as(const TypedFrame& f) {
  if (const T* p = std::get_if<T>(&f.payload)) return *p;
  fail(WireErrc::INVALID_VALUE, "TypedFrame.payload",
       fmt::format("payload alternative does not belong to a {} frame", to_string(f.header.type)));
}

void write_payload(ByteWriter& w, const TypedFrame& f) {
  switch (f.header.type) {
    case FrameType::HELLO: write_hello(w, payload_as<HelloPayload>(f)); return;
    case FrameType::TASK: write_task(w, payload_as<TaskPayload>(f)); return;
    case FrameType::CONTROL: {
      const auto& c = payload_as<TypedControl>(f);
      const auto command = encode_control_command(c.name, c.version, c.command);
      write_control(w, {c.name, c.version, command});
      return;
    }
    case FrameType::CONTROL_REPLY: {
      const auto& r = payload_as<TypedControlReply>(f);
      std::vector<uint8_t> result;
      if (const auto* typed = std::get_if<ControlResult>(&r.result)) {
        if (r.error_code != 0)
          fail(WireErrc::INVALID_VALUE, "TypedControlReply.result", "a failed reply carries raw result bytes");
        result = encode_control_result(r.name, r.version, *typed);
      } else {
        result = std::get<std::vector<uint8_t>>(r.result);
      }
      write_control_reply(w, {r.sequence, r.name, r.version, r.error_code, r.error_message, result});
      return;
    }
    case FrameType::COMPLETION: write_completion(w, payload_as<CompletionPayload>(f)); return;
    case FrameType::HEALTH:
      if (const auto* proof = std::get_if<HealthProof>(&f.payload)) {
        w.fixed(proof->bytes);
        return;
      }
      payload_as<HeaderOnly>(f);
      return;
    case FrameType::SHUTDOWN: payload_as<HeaderOnly>(f); return;
  }
  fail(WireErrc::UNKNOWN_FRAME_TYPE, "FrameHeader.frame_type", "frame type is unknown");
}

}  // namespace

TypedFrame decode_typed_frame(std::span<const uint8_t> bytes, uint32_t max_payload) {
  const FrameView f = decode_frame(bytes, max_payload);
  return TypedFrame{f.header, decode_payload(f)};
}

std::vector<uint8_t> encode_typed_frame(const TypedFrame& f) {
  if (f.header.version != WIRE_VERSION)
    fail(WireErrc::BAD_VERSION, "FrameHeader.version", fmt::format("version {} is not {}", f.header.version, WIRE_VERSION));
  ByteWriter w;
  const size_t start =
      begin_frame(w, f.header.type, {f.header.session_id, f.header.worker_id, f.header.sequence, f.header.flags});
  write_payload(w, f);
  end_frame(w, start);
  return w.take();
}

std::vector<uint8_t> encode_frame_head(FrameType type, const FrameRoute& route, std::span<const uint8_t> payload_head,
                                       uint64_t tail_bytes) {
  const uint64_t payload = uint64_t{payload_head.size()} + tail_bytes;
  FrameHeader h;
  h.type = type;
  h.session_id = route.session_id;
  h.worker_id = route.worker_id;
  h.sequence = route.sequence;
  h.flags = route.flags;
  // Clamped like end_frame, so an oversized payload reaches the checker as "too large".
  h.payload_bytes = payload > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(payload);
  std::vector<uint8_t> out(FRAME_HEADER_BYTES);
  encode_frame_header(h, std::span<uint8_t, FRAME_HEADER_BYTES>(out.data(), FRAME_HEADER_BYTES));
  out.insert(out.end(), payload_head.begin(), payload_head.end());
  return out;
}

}  // namespace echelon::wire
