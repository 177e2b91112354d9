#include "session/callable_preparer.h"

#include <fmt/format.h>

#include "session/chip_payload_check.h"
#include "session/register_refusal.h"
#include "wire/wire_error.h"

namespace echelon::session {

namespace {

using wire::RemoteRegistryTarget;
using wire::WireStatus;

RegistryEntry prepare_native_import(const wire::RegisterCallableCommand& c, const PrepareContext& ctx) {
  const std::string text(c.payload.begin(), c.payload.end());
  NativeImportTarget target;
  try {
    target = NativeImportTarget::parse(text);
  } catch (const std::exception& e) {
    throw RegisterRefusal(WireStatus::REJECTED, "import text", e.what());
  }
  const Digest recomputed = sha256(native_import_descriptor(target));
  if (recomputed != c.digest)
    throw RegisterRefusal(WireStatus::REJECTED, "HASHID_DESCRIPTOR_MISMATCH",
                          fmt::format("the descriptor of '{}:{}' hashes to {}, the command names {}", target.library,
                                      target.symbol, to_hashid(recomputed), to_hashid(c.digest)));
  const bool inner = c.target == RemoteRegistryTarget::INNER_L3_WORKER;
  if (inner && ctx.num_sub_workers == 0)
    throw RegisterRefusal(WireStatus::REJECTED, "no inner SUB worker",
                          "an INNER_L3_WORKER NATIVE_IMPORT is a sub entry and this session has num_sub_workers = 0");
  RegistryEntry e;
  e.kind = CallableKind::NATIVE_IMPORT;
  e.target_text = target.library + ":" + target.symbol;
  try {
    e.plugin = resolve_plugin(target, ctx.plugin_dirs, inner ? EntryKind::SUB : EntryKind::ORCHESTRATION);
  } catch (const PluginError& err) {
    throw RegisterRefusal(err.status() == PluginError::Status::NOT_FOUND ? WireStatus::NOT_FOUND : WireStatus::REJECTED,
                          "plugin resolution", err.what());
  }
  e.entry = make_plugin_entry(c.digest, e.target_text, *e.plugin);
  return e;
}

RegistryEntry prepare_chip(const wire::RegisterCallableCommand& c, const PrepareContext& ctx) {
  if (ctx.num_chips == 0)
    throw RegisterRefusal(WireStatus::REJECTED, "no inner chip",
                          "a CHIP_CALLABLE needs an inner chip and this session has num_chips = 0");
  wire::ChipCallablePayload payload;
  try {
    payload = wire::decode_chip_payload(c.payload);
  } catch (const wire::WireError& e) {
    throw RegisterRefusal(WireStatus::REJECTED, "chip payload", e.what());
  }
  RegistryEntry e;
  e.kind = CallableKind::CHIP_CALLABLE;
  e.chip.emplace(verify_chip_payload(payload, c.digest));
  return e;
}

}  // namespace

RegistryEntry prepare_callable(const wire::RegisterCallableCommand& c, const PrepareContext& ctx) {
  if (c.payload_version != wire::REGISTER_PAYLOAD_VERSION)
    throw RegisterRefusal(WireStatus::REJECTED, "payload version",
                          fmt::format("payload_version {} is not {} for {}", c.payload_version,
                                      wire::REGISTER_PAYLOAD_VERSION, to_string(c.kind)));
  switch (c.kind) {
    case CallableKind::CHIP_CALLABLE:
      if (c.target == RemoteRegistryTarget::REMOTE_TASK_DISPATCHER)
        throw RegisterRefusal(WireStatus::REJECTED, "target/kind matrix",
                              "CHIP_CALLABLE is never valid in REMOTE_TASK_DISPATCHER (it hosts orchestration entries)");
      return prepare_chip(c, ctx);
    case CallableKind::PYTHON_SERIALIZED:
      throw RegisterRefusal(WireStatus::UNSUPPORTED, "kind not negotiated",
                            "PYTHON_SERIALIZED (FEATURE_PYTHON_SERIALIZED) is not supported by this session");
    case CallableKind::PYTHON_IMPORT:
      throw RegisterRefusal(WireStatus::UNSUPPORTED, "kind not negotiated",
                            "PYTHON_IMPORT needs Python bindings, which are not supported by this session");
    case CallableKind::NATIVE_IMPORT: return prepare_native_import(c, ctx);
    default: break;
  }
  throw RegisterRefusal(WireStatus::REJECTED, "callable kind",
                        fmt::format("callable_kind {} is not valid in a registration", static_cast<uint32_t>(c.kind)));
}

}  // namespace echelon::session
