#include "decoder_entries.h"

#include <cstdlib>
#include <cstdio>
#include <cstring>

#include "wire/buffer_controls.h"
#include "wire/completion.h"
#include "wire/control.h"
#include "wire/control_catalogue.h"
#include "wire/frame_assembler.h"
#include "wire/frame_codec.h"
#include "wire/hello.h"
#include "wire/register_controls.h"
#include "wire/served_rma.h"
#include "wire/task_payload.h"
#include "wire/wire_error.h"

namespace echelon::wire::fuzz {
namespace {

using Bytes = std::vector<uint8_t>;

[[noreturn]] void finding(const char* entry, const char* what) {
  std::fprintf(stderr, "fuzz finding in %s: %s\n", entry, what);
  std::abort();
}

// Decode; if it succeeds, the canonical encoding must reproduce the input exactly.
template <typename Decode, typename Encode>
void round_trip(const char* entry, std::span<const uint8_t> data, Decode&& decode, Encode&& encode) {
  try {
    const auto value = decode(data);
    const Bytes again = encode(value);
    if (again.size() != data.size() || !std::equal(again.begin(), again.end(), data.begin()))
      finding(entry, "accepted input does not re-encode to the same bytes");
  } catch (const WireError&) {
  }
}

#define ROUND_TRIP(entry, decode_fn, encode_fn)                                              \
  DecoderEntry {                                                                             \
    entry, [](std::span<const uint8_t> d) {                                                  \
      round_trip(entry, d, [](auto b) { return decode_fn(b); }, [](const auto& v) { return encode_fn(v); }); \
    }                                                                                        \
  }

void run_frame(std::span<const uint8_t> d) {
  try {
    const TypedFrame f = decode_typed_frame(d);
    // The encoder only writes known reply codes; a received unknown one is legal and read as FAILED.
    if (const auto* c = std::get_if<CompletionPayload>(&f.payload); c && !is_known(static_cast<WireStatus>(c->error_code)))
      return;
    if (const auto* r = std::get_if<TypedControlReply>(&f.payload); r && !is_known(static_cast<WireStatus>(r->error_code)))
      return;
    const Bytes again = encode_typed_frame(f);
    if (again.size() != d.size() || !std::equal(again.begin(), again.end(), d.begin()))
      finding("frame", "accepted frame does not re-encode to the same bytes");
  } catch (const WireError&) {
  }
}

void run_frame_header(std::span<const uint8_t> d) {
  try {
    const FrameHeader h = decode_frame_header(d);
    uint8_t out[FRAME_HEADER_BYTES];
    encode_frame_header(h, out);
    if (std::memcmp(out, d.data(), FRAME_HEADER_BYTES) != 0) finding("frame_header", "header does not re-encode");
  } catch (const WireError&) {
  }
}

// Feeds the input in pieces whose sizes come from the input itself.
void run_frame_assembler(std::span<const uint8_t> d) {
  FrameAssembler a(1 << 20);
  size_t pos = 0;
  try {
    while (pos < d.size()) {
      auto want = a.want();
      if (want.empty()) break;
      const size_t n = std::min({want.size(), d.size() - pos, size_t{1} + d[pos] % 61});
      std::memcpy(want.data(), d.data() + pos, n);
      pos += n;
      if (a.commit(n)) {
        if (a.frame().payload.size() != a.frame().header.payload_bytes) finding("frame_assembler", "payload size");
        a.reset();
      }
    }
  } catch (const WireError&) {
  }
}

// COMPLETION and CONTROL_REPLY: a received unknown code is legal (read as FAILED) but the encoder
// only writes known ones, so only known-code inputs are held to the round trip.
template <typename Decode, typename Encode>
void run_reply_payload(const char* entry, std::span<const uint8_t> d, Decode&& decode, Encode&& encode) {
  try {
    const auto value = decode(d);
    if (!is_known(static_cast<WireStatus>(value.error_code))) return;
    const Bytes again = encode(value);
    if (!std::equal(again.begin(), again.end(), d.begin(), d.end())) finding(entry, "does not re-encode");
  } catch (const WireError&) {
  }
}

void run_completion(std::span<const uint8_t> d) {
  run_reply_payload("completion", d, [](auto b) { return decode_completion(b); },
                    [](const auto& v) { return encode_completion(v); });
}

void run_control_reply(std::span<const uint8_t> d) {
  run_reply_payload("control_reply", d, [](auto b) { return decode_control_reply(b); },
                    [](const auto& v) { return encode_control_reply(v); });
}

Bytes encode_control_view(const ControlRequest& c) { return encode_control(c); }
Bytes encode_copy_to(const CopyRequest& c) { return encode_copy_request(c, CopyDirection::TO_REMOTE); }
Bytes encode_copy_from(const CopyRequest& c) { return encode_copy_request(c, CopyDirection::FROM_REMOTE); }
CopyRequest decode_copy_to(std::span<const uint8_t> b) { return decode_copy_request(b, CopyDirection::TO_REMOTE); }
CopyRequest decode_copy_from(std::span<const uint8_t> b) { return decode_copy_request(b, CopyDirection::FROM_REMOTE); }

const char* command_entry(ControlName name, uint32_t version) {
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE: return "register_command";
    case ControlName::UNREGISTER_CALLABLE:
    case ControlName::COMMIT_REGISTER_CALLABLE:
    case ControlName::ABORT_REGISTER_CALLABLE:
    case ControlName::PREPARE_CALLABLE: return "digest_command";
    case ControlName::ALLOC_REMOTE_BUFFER: return "alloc_request";
    case ControlName::FREE_REMOTE_BUFFER: return "buffer_ref";
    case ControlName::COPY_TO_REMOTE: return version == 2 ? "copy_rma_request" : "copy_to_request";
    case ControlName::COPY_FROM_REMOTE: return version == 2 ? "copy_rma_request" : "copy_from_request";
    case ControlName::EXPORT_BUFFER: return "export_request";
    case ControlName::IMPORT_BUFFER: return "import_request";
    case ControlName::RELEASE_IMPORT: return "release_import";
    default: return nullptr;
  }
}

const char* result_entry(ControlName name) {
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE: return "prepare_register_result";
    case ControlName::ALLOC_REMOTE_BUFFER: return "alloc_result";
    case ControlName::EXPORT_BUFFER: return "export_result";
    case ControlName::IMPORT_BUFFER: return "import_result";
    default: return nullptr;
  }
}

}  // namespace

const std::vector<DecoderEntry>& decoder_entries() {
  static const std::vector<DecoderEntry> entries = {
      {"frame", run_frame},
      {"frame_header", run_frame_header},
      {"frame_assembler", run_frame_assembler},
      ROUND_TRIP("hello", decode_hello, encode_hello),
      ROUND_TRIP("task", decode_task, encode_task),
      {"completion", run_completion},
      ROUND_TRIP("control", decode_control, encode_control_view),
      {"control_reply", run_control_reply},
      ROUND_TRIP("register_command", decode_register_command, encode_register_command),
      ROUND_TRIP("digest_command", decode_digest_command, encode_digest_command),
      ROUND_TRIP("chip_payload", decode_chip_payload, encode_chip_payload),
      ROUND_TRIP("prepare_register_result", decode_prepare_register_result, encode_prepare_register_result),
      ROUND_TRIP("alloc_request", decode_alloc_request, encode_alloc_request),
      ROUND_TRIP("alloc_result", decode_alloc_result, encode_alloc_result),
      ROUND_TRIP("buffer_ref", decode_buffer_ref, encode_buffer_ref),
      ROUND_TRIP("copy_to_request", decode_copy_to, encode_copy_to),
      ROUND_TRIP("copy_from_request", decode_copy_from, encode_copy_from),
      ROUND_TRIP("copy_rma_request", decode_copy_rma_request, encode_copy_rma_request),
      ROUND_TRIP("export_request", decode_export_request, encode_export_request),
      ROUND_TRIP("export_result", decode_export_result, encode_export_result),
      ROUND_TRIP("import_request", decode_import_request, encode_import_request),
      ROUND_TRIP("import_result", decode_import_result, encode_import_result),
      ROUND_TRIP("release_import", decode_release_import, encode_release_import),
      ROUND_TRIP("served_rma_request", decode_served_rma_request, encode_served_rma_request),
      ROUND_TRIP("served_rma_reply", decode_served_rma_reply, encode_served_rma_reply),
  };
  return entries;
}

const DecoderEntry* find_entry(const std::string& name) {
  for (const auto& e : decoder_entries())
    if (name == e.name) return &e;
  return nullptr;
}

std::vector<std::pair<std::string, Bytes>> seeds_from_frame(std::span<const uint8_t> frame) {
  std::vector<std::pair<std::string, Bytes>> out;
  const auto add = [&](const char* entry, std::span<const uint8_t> bytes) {
    if (entry) out.emplace_back(entry, Bytes(bytes.begin(), bytes.end()));
  };
  add("frame", frame);
  add("frame_header", frame);
  add("frame_assembler", frame);
  const FrameView f = decode_frame(frame);
  switch (f.header.type) {
    case FrameType::HELLO: add("hello", f.payload); break;
    case FrameType::TASK: add("task", f.payload); break;
    case FrameType::COMPLETION: add("completion", f.payload); break;
    case FrameType::CONTROL: {
      add("control", f.payload);
      const ControlRequest c = decode_control(f.payload);
      add(command_entry(c.name, c.version), c.command);
      if (c.name == ControlName::PREPARE_REGISTER_CALLABLE) {
        const RegisterCallableCommand r = decode_register_command(c.command);
        if (r.kind == CallableKind::CHIP_CALLABLE) add("chip_payload", r.payload);
      }
      break;
    }
    case FrameType::CONTROL_REPLY: {
      add("control_reply", f.payload);
      const ControlReply r = decode_control_reply(f.payload);
      if (r.error_code == 0) add(result_entry(r.name), r.result);
      break;
    }
    default: break;
  }
  return out;
}

std::vector<std::pair<std::string, Bytes>> seeds_outside_frames() {
  const Bytes address(79, 0x5A), rkey(18, 0xA5);
  return {
      {"served_rma_request", encode_served_rma_request({RmaOp::GET, 1, 1, 0x7F0000001000, 1 << 20, address, rkey})},
      {"served_rma_request", encode_served_rma_request({RmaOp::PUT, 2, 3, 0x1000, 64, address, {}})},
      {"served_rma_reply", encode_served_rma_reply({RmaOp::GET, RmaStatus::OK, 1})},
      {"served_rma_reply", encode_served_rma_reply({RmaOp::PUT, RmaStatus::NOT_REGISTERED, 2})},
  };
}

}  // namespace echelon::wire::fuzz
