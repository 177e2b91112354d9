// Typed register-family controls for a remote L3 endpoint (callables.md 6-7, protocol.md 9.1): how
// a remote registration becomes PREPARE / COMMIT / ABORT / UNREGISTER requests, and how a PREPARE
// reply is checked. Names and payloads go through the wire codec, so a request the runner would
// refuse on its shape throws ControlError and nothing is sent.
#pragma once

#include <optional>

#include "echelon/endpoint.h"
#include "echelon/remote_callable.h"
#include "wire/register_controls.h"

namespace echelon::remote_controls {

// PREPARE_REGISTER_CALLABLE: the payload is the import text for NATIVE_IMPORT and an inline
// RemoteChipCallablePayloadWire for CHIP_CALLABLE.
ControlRequest prepare_register(RemoteRegistry registry, const RemoteCallable& callable);
// The resolved plugin file's SHA-256 (NATIVE_IMPORT) or nullopt (other kinds). The reply must be
// ok; a malformed result throws ControlError naming the field.
std::optional<Digest> prepare_register_result(const ControlReply& reply, CallableKind kind);

ControlRequest commit_register(RemoteRegistry registry, CallableKind kind, const Digest& digest);
ControlRequest abort_register(RemoteRegistry registry, CallableKind kind, const Digest& digest);
ControlRequest unregister_callable(RemoteRegistry registry, CallableKind kind, const Digest& digest);
// PREPARE_CALLABLE: is `digest` committed in the dispatcher?
ControlRequest prepare_callable(CallableKind kind, const Digest& digest);

// The inline chip payload (RemoteChipCallablePayloadWire v1, INLINE_BLOB) for `kernel`, and its
// encoding as a manifest entry and a PREPARE carry it.
wire::ChipCallablePayload inline_chip_payload(const ChipCallable& kernel);
std::vector<uint8_t> chip_payload(const ChipCallable& kernel);

}  // namespace echelon::remote_controls
