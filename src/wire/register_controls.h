// Register-family control layouts (protocol.md 9.1, callables.md 9.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "echelon/callable.h"
#include "wire/byte_writer.h"

namespace echelon::wire {

enum class RemoteRegistryTarget : uint32_t { REMOTE_TASK_DISPATCHER = 1, INNER_L3_WORKER = 2 };
constexpr bool is_known(RemoteRegistryTarget t) {
  return t == RemoteRegistryTarget::REMOTE_TASK_DISPATCHER || t == RemoteRegistryTarget::INNER_L3_WORKER;
}
// Kinds that may appear in a control: 1..4. The local-only NATIVE_INPROC is unknown here.
constexpr bool is_wire_callable_kind(CallableKind k) {
  return static_cast<uint32_t>(k) >= 1 && static_cast<uint32_t>(k) <= 4;
}

enum class BlobLocation : uint32_t { INLINE_BLOB = 1, STAGED_BLOB = 2 };
constexpr bool is_known(BlobLocation b) { return b == BlobLocation::INLINE_BLOB || b == BlobLocation::STAGED_BLOB; }

inline constexpr uint32_t REGISTER_PAYLOAD_VERSION = 1;

// COMMIT_/ABORT_REGISTER_CALLABLE, UNREGISTER_CALLABLE, PREPARE_CALLABLE: exactly 40 bytes.
struct DigestCallableCommand {
  RemoteRegistryTarget target = RemoteRegistryTarget::REMOTE_TASK_DISPATCHER;
  CallableKind kind = CallableKind::NATIVE_IMPORT;
  Digest digest{};

  friend bool operator==(const DigestCallableCommand&, const DigestCallableCommand&) = default;
};

// PREPARE_REGISTER_CALLABLE. `payload` is kind-specific and checked by the codec for version 1:
// a ChipCallablePayload for CHIP_CALLABLE, `module:qualname` / `library:symbol` text (<= 1024
// bytes, UTF-8) for the import kinds, an opaque envelope for PYTHON_SERIALIZED.
struct RegisterCallableCommand {
  RemoteRegistryTarget target = RemoteRegistryTarget::REMOTE_TASK_DISPATCHER;
  CallableKind kind = CallableKind::NATIVE_IMPORT;
  Digest digest{};
  uint32_t payload_version = REGISTER_PAYLOAD_VERSION;
  std::vector<uint8_t> payload;

  friend bool operator==(const RegisterCallableCommand&, const RegisterCallableCommand&) = default;
};

// RemoteChipCallablePayloadWire v1.
struct ChipCallablePayload {
  std::vector<uint8_t> descriptor;
  BlobLocation blob_location = BlobLocation::INLINE_BLOB;
  uint64_t blob_size = 0;
  Digest blob_sha256{};
  std::vector<uint8_t> inline_blob;
  std::vector<uint8_t> staged_blob_token;

  friend bool operator==(const ChipCallablePayload&, const ChipCallablePayload&) = default;
};

// PREPARE_REGISTER_CALLABLE result: empty, or the resolved library's SHA-256 for NATIVE_IMPORT.
struct PrepareRegisterResult {
  std::optional<Digest> resolved_library_sha256;

  friend bool operator==(const PrepareRegisterResult&, const PrepareRegisterResult&) = default;
};

void validate(const DigestCallableCommand& c);
std::vector<uint8_t> encode_digest_command(const DigestCallableCommand& c);
DigestCallableCommand decode_digest_command(std::span<const uint8_t> bytes);

void validate(const RegisterCallableCommand& c);
std::vector<uint8_t> encode_register_command(const RegisterCallableCommand& c);
RegisterCallableCommand decode_register_command(std::span<const uint8_t> bytes);

void validate(const ChipCallablePayload& p);
std::vector<uint8_t> encode_chip_payload(const ChipCallablePayload& p);
ChipCallablePayload decode_chip_payload(std::span<const uint8_t> bytes);

std::vector<uint8_t> encode_prepare_register_result(const PrepareRegisterResult& r);
// Structural decode: empty or exactly 32 bytes.
PrepareRegisterResult decode_prepare_register_result(std::span<const uint8_t> bytes);
// Parent-side: the digest is present exactly for NATIVE_IMPORT.
PrepareRegisterResult decode_prepare_register_result(std::span<const uint8_t> bytes, CallableKind kind);

}  // namespace echelon::wire
