#include "wire/register_controls.h"

#include "fmt/format.h"
#include "wire/byte_reader.h"
#include "wire/enum_field.h"
#include "wire/limits.h"
#include "wire/utf8.h"
#include "wire/wire_error.h"

namespace echelon::wire {
namespace {

void check_target_and_kind(RemoteRegistryTarget target, CallableKind kind, const char* record) {
  require_known(target, fmt::format("{}.target_registry", record).c_str());
  if (!is_wire_callable_kind(kind))
    fail(WireErrc::UNKNOWN_ENUM, fmt::format("{}.callable_kind", record).c_str(),
         fmt::format("value {} is not a callable kind valid on the wire", static_cast<uint32_t>(kind)));
}

void write_head(ByteWriter& w, RemoteRegistryTarget target, CallableKind kind, const Digest& digest) {
  w.u32(static_cast<uint32_t>(target));
  w.u32(static_cast<uint32_t>(kind));
  w.fixed(digest);
}

template <typename Command>
void read_head(ByteReader& r, Command& c, const char* record) {
  const std::string target_field = fmt::format("{}.target_registry", record);
  const std::string kind_field = fmt::format("{}.callable_kind", record);
  c.target = known_enum<RemoteRegistryTarget>(r.u32(target_field.c_str()), target_field.c_str());
  c.kind = static_cast<CallableKind>(r.u32(kind_field.c_str()));
  check_target_and_kind(c.target, c.kind, record);
  r.fixed(fmt::format("{}.callable_hash_digest", record).c_str(), c.digest);
}

void validate_import_text(std::span<const uint8_t> payload) {
  if (payload.empty()) fail(WireErrc::INVALID_VALUE, "RegisterCallableCommand.payload", "import text is empty");
  if (payload.size() > MAX_STRING_BYTES)
    fail(WireErrc::TOO_LONG, "RegisterCallableCommand.payload",
         fmt::format("import text of {} bytes exceeds {}", payload.size(), MAX_STRING_BYTES));
  if (!is_valid_utf8({reinterpret_cast<const char*>(payload.data()), payload.size()}))
    fail(WireErrc::INVALID_UTF8, "RegisterCallableCommand.payload", "import text is not valid UTF-8");
}

}  // namespace

void validate(const DigestCallableCommand& c) { check_target_and_kind(c.target, c.kind, "DigestCallableCommand"); }

std::vector<uint8_t> encode_digest_command(const DigestCallableCommand& c) {
  validate(c);
  ByteWriter w(DIGEST_COMMAND_BYTES);
  write_head(w, c.target, c.kind, c.digest);
  return w.take();
}

DigestCallableCommand decode_digest_command(std::span<const uint8_t> bytes) {
  if (bytes.size() != DIGEST_COMMAND_BYTES)
    fail(WireErrc::WRONG_SIZE, "DigestCallableCommand",
         fmt::format("{} bytes, must be exactly {}", bytes.size(), DIGEST_COMMAND_BYTES));
  ByteReader r(bytes, "DigestCallableCommand");
  DigestCallableCommand c;
  read_head(r, c, "DigestCallableCommand");
  r.expect_end();
  return c;
}

void validate(const RegisterCallableCommand& c) {
  check_target_and_kind(c.target, c.kind, "RegisterCallableCommand");
  if (c.payload_version == 0)
    fail(WireErrc::INVALID_VALUE, "RegisterCallableCommand.payload_version", "payload version 0 is never valid");
  if (c.payload_version != REGISTER_PAYLOAD_VERSION)
    fail(WireErrc::UNSUPPORTED, "RegisterCallableCommand.payload_version",
         fmt::format("payload version {} is not implemented", c.payload_version));
  if (c.payload.size() > MAX_FRAME_PAYLOAD_BYTES)
    fail(WireErrc::TOO_LONG, "RegisterCallableCommand.payload_len",
         fmt::format("{} bytes exceed the maximum of {}", c.payload.size(), MAX_FRAME_PAYLOAD_BYTES));
  switch (c.kind) {
    case CallableKind::CHIP_CALLABLE:
      try {
        decode_chip_payload(c.payload);
      } catch (const WireError& e) {
        throw e.nested_in("RegisterCallableCommand.payload");
      }
      break;
    case CallableKind::PYTHON_IMPORT:
    case CallableKind::NATIVE_IMPORT: validate_import_text(c.payload); break;
    default: break;  // PYTHON_SERIALIZED: an opaque envelope, judged by the runner
  }
}

std::vector<uint8_t> encode_register_command(const RegisterCallableCommand& c) {
  validate(c);
  ByteWriter w(48 + c.payload.size());
  write_head(w, c.target, c.kind, c.digest);
  w.u32(c.payload_version);
  w.blob("RegisterCallableCommand.payload_len", c.payload, MAX_FRAME_PAYLOAD_BYTES);
  return w.take();
}

RegisterCallableCommand decode_register_command(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "RegisterCallableCommand");
  RegisterCallableCommand c;
  read_head(r, c, "RegisterCallableCommand");
  c.payload_version = r.u32("RegisterCallableCommand.payload_version");
  const auto payload = r.blob("RegisterCallableCommand.payload_len", MAX_FRAME_PAYLOAD_BYTES);
  r.expect_end();
  c.payload.assign(payload.begin(), payload.end());
  validate(c);
  return c;
}

void validate(const ChipCallablePayload& p) {
  require_known(p.blob_location, "RemoteChipCallablePayloadWire.blob_location");
  if (p.blob_size == 0) fail(WireErrc::INVALID_VALUE, "RemoteChipCallablePayloadWire.blob_size", "blob size is 0");
  if (p.blob_location == BlobLocation::INLINE_BLOB) {
    if (p.inline_blob.size() != p.blob_size)
      fail(WireErrc::INVALID_VALUE, "RemoteChipCallablePayloadWire.inline_blob",
           fmt::format("inline blob of {} bytes differs from blob_size {}", p.inline_blob.size(), p.blob_size));
    if (!p.staged_blob_token.empty())
      fail(WireErrc::INVALID_VALUE, "RemoteChipCallablePayloadWire.staged_blob_token", "must be empty for INLINE_BLOB");
  } else {
    if (!p.inline_blob.empty())
      fail(WireErrc::INVALID_VALUE, "RemoteChipCallablePayloadWire.inline_blob", "must be empty for STAGED_BLOB");
    if (p.staged_blob_token.empty())
      fail(WireErrc::INVALID_VALUE, "RemoteChipCallablePayloadWire.staged_blob_token", "must be non-empty for STAGED_BLOB");
  }
}

std::vector<uint8_t> encode_chip_payload(const ChipCallablePayload& p) {
  validate(p);
  ByteWriter w(64 + p.descriptor.size() + p.inline_blob.size() + p.staged_blob_token.size());
  w.blob("RemoteChipCallablePayloadWire.descriptor_bytes", p.descriptor, MAX_CHIP_CALLABLE_DESCRIPTOR_BYTES);
  w.u32(static_cast<uint32_t>(p.blob_location));
  w.u64(p.blob_size);
  w.fixed(p.blob_sha256);
  w.blob("RemoteChipCallablePayloadWire.inline_blob", p.inline_blob, MAX_FRAME_PAYLOAD_BYTES);
  w.blob("RemoteChipCallablePayloadWire.staged_blob_token", p.staged_blob_token, MAX_STAGED_BLOB_TOKEN_BYTES);
  w.reserved_u32();
  return w.take();
}

ChipCallablePayload decode_chip_payload(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "RemoteChipCallablePayloadWire");
  ChipCallablePayload p;
  const auto descriptor =
      r.blob("RemoteChipCallablePayloadWire.descriptor_bytes", MAX_CHIP_CALLABLE_DESCRIPTOR_BYTES);
  p.blob_location = known_enum<BlobLocation>(r.u32("RemoteChipCallablePayloadWire.blob_location"),
                                             "RemoteChipCallablePayloadWire.blob_location");
  p.blob_size = r.u64("RemoteChipCallablePayloadWire.blob_size");
  r.fixed("RemoteChipCallablePayloadWire.blob_sha256", p.blob_sha256);
  const auto blob = r.blob("RemoteChipCallablePayloadWire.inline_blob", MAX_FRAME_PAYLOAD_BYTES);
  const auto token = r.blob("RemoteChipCallablePayloadWire.staged_blob_token", MAX_STAGED_BLOB_TOKEN_BYTES);
  r.reserved_u32("RemoteChipCallablePayloadWire.reserved");
  r.expect_end();
  p.descriptor.assign(descriptor.begin(), descriptor.end());
  p.inline_blob.assign(blob.begin(), blob.end());
  p.staged_blob_token.assign(token.begin(), token.end());
  validate(p);
  return p;
}

std::vector<uint8_t> encode_prepare_register_result(const PrepareRegisterResult& r) {
  if (!r.resolved_library_sha256) return {};
  return {r.resolved_library_sha256->begin(), r.resolved_library_sha256->end()};
}

PrepareRegisterResult decode_prepare_register_result(std::span<const uint8_t> bytes) {
  PrepareRegisterResult r;
  if (bytes.empty()) return r;
  if (bytes.size() != CALLABLE_HASH_DIGEST_SIZE)
    fail(WireErrc::WRONG_SIZE, "PrepareRegisterResult.resolved_library_sha256",
         fmt::format("{} bytes, must be 0 or {}", bytes.size(), CALLABLE_HASH_DIGEST_SIZE));
  Digest d;
  std::copy(bytes.begin(), bytes.end(), d.begin());
  r.resolved_library_sha256 = d;
  return r;
}

PrepareRegisterResult decode_prepare_register_result(std::span<const uint8_t> bytes, CallableKind kind) {
  PrepareRegisterResult r = decode_prepare_register_result(bytes);
  if (r.resolved_library_sha256.has_value() != (kind == CallableKind::NATIVE_IMPORT))
    fail(WireErrc::WRONG_SIZE, "PrepareRegisterResult.resolved_library_sha256",
         fmt::format("a {} prepare result must {}", to_string(kind),
                     kind == CallableKind::NATIVE_IMPORT ? "carry the 32-byte library digest" : "be empty"));
  return r;
}

}  // namespace echelon::wire
