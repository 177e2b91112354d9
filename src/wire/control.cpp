#include "wire/control.h"

#include "fmt/format.h"
#include "wire/byte_reader.h"
#include "wire/enum_field.h"
#include "wire/wire_error.h"

namespace echelon::wire {

const char* to_string(ControlName n) {
  switch (n) {
    case ControlName::UNREGISTER_CALLABLE: return "UNREGISTER_CALLABLE";
    case ControlName::PREPARE_REGISTER_CALLABLE: return "PREPARE_REGISTER_CALLABLE";
    case ControlName::COMMIT_REGISTER_CALLABLE: return "COMMIT_REGISTER_CALLABLE";
    case ControlName::ABORT_REGISTER_CALLABLE: return "ABORT_REGISTER_CALLABLE";
    case ControlName::PREPARE_CALLABLE: return "PREPARE_CALLABLE";
    case ControlName::ALLOC_REMOTE_BUFFER: return "ALLOC_REMOTE_BUFFER";
    case ControlName::FREE_REMOTE_BUFFER: return "FREE_REMOTE_BUFFER";
    case ControlName::COPY_TO_REMOTE: return "COPY_TO_REMOTE";
    case ControlName::COPY_FROM_REMOTE: return "COPY_FROM_REMOTE";
    case ControlName::EXPORT_BUFFER: return "EXPORT_BUFFER";
    case ControlName::IMPORT_BUFFER: return "IMPORT_BUFFER";
    case ControlName::RELEASE_IMPORT: return "RELEASE_IMPORT";
    case ControlName::COMM_INIT: return "COMM_INIT";
    case ControlName::ALLOC_DOMAIN: return "ALLOC_DOMAIN";
    case ControlName::RELEASE_DOMAIN: return "RELEASE_DOMAIN";
    case ControlName::COPY_TO_DOMAIN: return "COPY_TO_DOMAIN";
    case ControlName::COPY_FROM_DOMAIN: return "COPY_FROM_DOMAIN";
  }
  return "UNKNOWN";
}

ControlFamily family_of(ControlName n) {
  const auto v = static_cast<uint32_t>(n);
  if (v <= static_cast<uint32_t>(ControlName::PREPARE_CALLABLE)) return ControlFamily::REGISTER;
  if (v <= static_cast<uint32_t>(ControlName::RELEASE_IMPORT)) return ControlFamily::BUFFER;
  return ControlFamily::DOMAIN;
}

bool is_implemented(ControlName n, uint32_t version) {
  if (!is_known(n) || family_of(n) == ControlFamily::DOMAIN) return false;
  if (version == 1) return true;
  return version == 2 && (n == ControlName::COPY_TO_REMOTE || n == ControlName::COPY_FROM_REMOTE);
}

namespace {

void check_name_and_version(ControlName name, uint32_t version, bool reply) {
  require_known(name, reply ? "ControlReplyPayload.control_name" : "ControlPayload.control_name");
  if (version == 0)
    fail(WireErrc::INVALID_VALUE, reply ? "ControlReplyPayload.control_version" : "ControlPayload.control_version",
         "version 0 is never valid");
}

}  // namespace

void write_control(ByteWriter& w, const ControlRequest& c) {
  check_name_and_version(c.name, c.version, false);
  w.u32(static_cast<uint32_t>(c.name));
  w.u32(c.version);
  w.blob("ControlPayload.command_len", c.command, MAX_FRAME_PAYLOAD_BYTES);
}

namespace {

// The same check and text as ByteWriter::blob, for a blob appended outside the writer.
void require_blob_fits(const char* field, size_t n) {
  if (n > MAX_FRAME_PAYLOAD_BYTES)
    fail(WireErrc::TOO_LONG, field, fmt::format("{} bytes exceed the maximum of {}", n, MAX_FRAME_PAYLOAD_BYTES));
}

// An envelope whose last field is a u32 length still 0, then its blob: the blob is copied once
// into an exactly sized buffer. Encoding it through ByteWriter would first grow (zero-fill) the
// buffer to the full size and then copy, two passes over up to 16 MiB of copy data per frame.
std::vector<uint8_t> envelope_with_blob(ByteWriter& envelope, std::span<const uint8_t> blob) {
  envelope.patch_u32(envelope.size() - 4, static_cast<uint32_t>(blob.size()));
  const auto head = envelope.bytes();
  std::vector<uint8_t> out;
  out.reserve(head.size() + blob.size());
  out.insert(out.end(), head.begin(), head.end());
  out.insert(out.end(), blob.begin(), blob.end());
  return out;
}

}  // namespace

std::vector<uint8_t> encode_control(const ControlRequest& c) {
  ByteWriter w;
  write_control(w, ControlRequest{c.name, c.version, {}});  // checks name and version first
  require_blob_fits("ControlPayload.command_len", c.command.size());
  return envelope_with_blob(w, c.command);
}

ControlRequest decode_control(std::span<const uint8_t> payload) {
  ByteReader r(payload, "CONTROL");
  ControlRequest c;
  c.name = known_enum<ControlName>(r.u32("ControlPayload.control_name"), "ControlPayload.control_name");
  c.version = r.u32("ControlPayload.control_version");
  check_name_and_version(c.name, c.version, false);
  c.command = r.blob("ControlPayload.command_len", MAX_FRAME_PAYLOAD_BYTES);
  r.expect_end();
  return c;
}

void write_control_reply(ByteWriter& w, const ControlReply& c) {
  check_name_and_version(c.name, c.version, true);
  require_known(static_cast<WireStatus>(c.error_code), "ControlReplyPayload.error_code");
  w.u64(c.sequence);
  w.u32(static_cast<uint32_t>(c.name));
  w.u32(c.version);
  w.i32(c.error_code);
  w.text("ControlReplyPayload.error_message", c.error_message, MAX_ERROR_BYTES);
  w.blob("ControlReplyPayload.result_len", c.result, MAX_FRAME_PAYLOAD_BYTES);
}

std::vector<uint8_t> encode_control_reply(const ControlReply& c) {
  ControlReply envelope = c;
  envelope.result = {};
  ByteWriter w;
  write_control_reply(w, envelope);  // checks name, version, code and message first
  require_blob_fits("ControlReplyPayload.result_len", c.result.size());
  return envelope_with_blob(w, c.result);
}

ControlReply decode_control_reply(std::span<const uint8_t> payload) {
  ByteReader r(payload, "CONTROL_REPLY");
  ControlReply c;
  c.sequence = r.u64("ControlReplyPayload.sequence");
  c.name = known_enum<ControlName>(r.u32("ControlReplyPayload.control_name"), "ControlReplyPayload.control_name");
  c.version = r.u32("ControlReplyPayload.control_version");
  check_name_and_version(c.name, c.version, true);
  c.error_code = r.i32("ControlReplyPayload.error_code");
  c.error_message = r.text("ControlReplyPayload.error_message", MAX_ERROR_BYTES);
  c.result = r.blob("ControlReplyPayload.result_len", MAX_FRAME_PAYLOAD_BYTES);
  r.expect_end();
  return c;
}

ControlReply decode_control_reply(const FrameView& frame, const AwaitedControl& awaited) {
  expect_reply_frame(frame, FrameType::CONTROL_REPLY, awaited.sequence);
  ControlReply c = decode_control_reply(frame.payload);
  if (c.sequence != awaited.sequence)
    fail(WireErrc::SEQUENCE_MISMATCH, "ControlReplyPayload.sequence",
         fmt::format("reply sequence {} is not the awaited {}", c.sequence, awaited.sequence));
  if (c.name != awaited.name)
    fail(WireErrc::CONTROL_MISMATCH, "ControlReplyPayload.control_name",
         fmt::format("reply names {} but {} was sent", to_string(c.name), to_string(awaited.name)));
  if (c.version != awaited.version)
    fail(WireErrc::CONTROL_MISMATCH, "ControlReplyPayload.control_version",
         fmt::format("reply version {} but version {} was sent", c.version, awaited.version));
  return c;
}

}  // namespace echelon::wire
