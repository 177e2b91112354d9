// Typed command and result of every implemented control (protocol.md 9), selected by control name
// and version. The domain family and unimplemented versions decode as UNSUPPORTED, which a runner
// answers with the UNSUPPORTED code.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "wire/buffer_controls.h"
#include "wire/control.h"
#include "wire/register_controls.h"

namespace echelon::wire {

using ControlCommand = std::variant<RegisterCallableCommand, DigestCallableCommand, AllocRequest, BufferRef, CopyRequest,
                                    CopyRmaRequest, ExportBufferRequest, ImportBufferRequest, ReleaseImportRequest>;

struct EmptyResult {
  friend bool operator==(const EmptyResult&, const EmptyResult&) = default;
};
// COPY_FROM_REMOTE v1: exactly the requested bytes, no inner prefix.
struct CopyFromResult {
  std::vector<uint8_t> data;
  friend bool operator==(const CopyFromResult&, const CopyFromResult&) = default;
};

using ControlResult = std::variant<EmptyResult, PrepareRegisterResult, AllocResult, CopyFromResult, ExportBufferResult,
                                   ImportBufferResult>;

// Throws WireError(UNSUPPORTED) for the domain family or an unimplemented version.
void require_implemented(ControlName name, uint32_t version);

ControlCommand decode_control_command(ControlName name, uint32_t version, std::span<const uint8_t> bytes);
// Refuses a command whose type does not belong to `name`/`version`.
std::vector<uint8_t> encode_control_command(ControlName name, uint32_t version, const ControlCommand& command);

// Structural decode of a successful reply's result bytes.
ControlResult decode_control_result(ControlName name, uint32_t version, std::span<const uint8_t> bytes);
std::vector<uint8_t> encode_control_result(ControlName name, uint32_t version, const ControlResult& result);

}  // namespace echelon::wire
