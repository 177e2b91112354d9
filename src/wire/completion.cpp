#include "wire/completion.h"

#include "fmt/format.h"
#include "wire/byte_reader.h"
#include "wire/enum_field.h"
#include "wire/wire_error.h"

namespace echelon::wire {

CompletionPayload make_completion(uint64_t sequence, WireStatus status, std::string_view text) {
  return CompletionPayload{sequence, static_cast<int32_t>(status), bounded_error_text(text)};
}

void write_completion(ByteWriter& w, const CompletionPayload& c) {
  require_known(static_cast<WireStatus>(c.error_code), "CompletionPayload.error_code");
  w.u64(c.sequence);
  w.i32(c.error_code);
  w.text("CompletionPayload.error_message", c.error_message, MAX_ERROR_BYTES);
}

std::vector<uint8_t> encode_completion(const CompletionPayload& c) {
  ByteWriter w;
  write_completion(w, c);
  return w.take();
}

CompletionPayload decode_completion(std::span<const uint8_t> payload) {
  ByteReader r(payload, "COMPLETION");
  CompletionPayload c;
  c.sequence = r.u64("CompletionPayload.sequence");
  c.error_code = r.i32("CompletionPayload.error_code");
  c.error_message = r.text("CompletionPayload.error_message", MAX_ERROR_BYTES);
  r.expect_end();
  return c;
}

CompletionPayload decode_completion(const FrameView& frame, uint64_t awaited) {
  expect_reply_frame(frame, FrameType::COMPLETION, awaited);
  CompletionPayload c = decode_completion(frame.payload);
  if (c.sequence != awaited)
    fail(WireErrc::SEQUENCE_MISMATCH, "CompletionPayload.sequence",
         fmt::format("completion payload sequence {} is not the awaited {}", c.sequence, awaited));
  return c;
}

}  // namespace echelon::wire
