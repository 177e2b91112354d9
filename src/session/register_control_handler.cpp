#include "session/register_control_handler.h"

#include <fmt/format.h>

#include <cstring>

#include "session/inner_handles.h"
#include "session/register_refusal.h"
#include "wire/wire_error.h"

namespace echelon::session {

namespace {

using wire::ControlName;
using wire::RemoteRegistryTarget;
using wire::WireStatus;

ControlAnswer ok(std::vector<uint8_t> result = {}) { return ControlAnswer{WireStatus::OK, {}, std::move(result)}; }

// Every refusal names the rule, then the callable and the registry it was about.
ControlAnswer refused(WireStatus status, std::string_view rule, std::string_view detail, const Digest& digest,
                      RemoteRegistryTarget target) {
  return ControlAnswer{status,
                       fmt::format("{}: {} ({} in {})", rule, detail, to_hashid(digest), registry_name(target)),
                       {}};
}

// The digest and registry of a command the codec refused, read from the fixed head when it is
// there, so even a codec refusal names what it was about.
std::string describe_raw_head(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8 + CALLABLE_HASH_DIGEST_SIZE) return "the command is too short to name a callable";
  uint32_t target = 0;
  for (int i = 3; i >= 0; --i) target = (target << 8) | bytes[static_cast<size_t>(i)];
  Digest digest;
  std::memcpy(digest.data(), bytes.data() + 8, digest.size());
  const auto t = static_cast<RemoteRegistryTarget>(target);
  const std::string registry = wire::is_known(t) ? std::string(registry_name(t)) : fmt::format("registry value {}", target);
  return fmt::format("{} in {}", to_hashid(digest), registry);
}

ControlAnswer codec_refusal(const wire::ControlRequest& request, const wire::WireError& e) {
  // Row 2 of callables.md 10: a payload version other than 1 is REJECTED (the codec calls an
  // unimplemented version UNSUPPORTED, which is its answer for control versions).
  const bool payload_version = e.field().find("payload_version") != std::string::npos;
  const WireStatus status = payload_version ? WireStatus::REJECTED : wire::status_for_rejection(e);
  return ControlAnswer{status,
                       fmt::format("{}: {} command bytes rejected: {} ({})",
                                   payload_version ? "payload version" : "codec", wire::to_string(request.name),
                                   e.what(), describe_raw_head(request.command)),
                       {}};
}

ControlAnswer kind_conflict(const wire::DigestCallableCommand& c, CallableKind held, const char* where) {
  return refused(WireStatus::REJECTED, "kind mismatch",
                 fmt::format("the command names {}, the {} entry is {}", to_string(c.kind), where, to_string(held)),
                 c.digest, c.target);
}

}  // namespace

ControlAnswer RegisterControlHandler::prepare(const wire::RegisterCallableCommand& c) {
  CallableTable& table = registries_.of(c.target);
  const RegistryEntry* live = table.live(c.digest);
  const RegistryEntry* staged = table.prepared(c.digest);
  const RegistryEntry* held = live ? live : staged;
  if (held && held->kind != c.kind)
    return refused(WireStatus::REJECTED, "kind conflict",
                   fmt::format("the digest is already {} as {}; the command names {}", live ? "live" : "prepared",
                               to_string(held->kind), to_string(c.kind)),
                   c.digest, c.target);
  RegistryEntry entry;
  try {
    entry = prepare_callable(c, context_);
  } catch (const RegisterRefusal& r) {
    return refused(r.status(), r.rule(), r.detail(), c.digest, c.target);
  } catch (const std::exception& e) {
    return refused(WireStatus::FAILED, "prepare", e.what(), c.digest, c.target);
  }
  wire::PrepareRegisterResult result;
  if (entry.plugin) result.resolved_library_sha256 = entry.plugin->file_sha256;
  // Already live with this kind: the prepare succeeds and its commit is a no-op, so nothing is
  // staged (the checks above still ran, so a bad payload is refused even then).
  if (!live) table.stage(c.digest, std::move(entry));
  return ok(wire::encode_prepare_register_result(result));
}

ControlAnswer RegisterControlHandler::commit(const wire::DigestCallableCommand& c) {
  CallableTable& table = registries_.of(c.target);
  if (const RegistryEntry* staged = table.prepared(c.digest)) {
    if (staged->kind != c.kind) return kind_conflict(c, staged->kind, "prepared");
    RegistryEntry entry = std::move(*table.take_prepared(c.digest));
    if (c.target == RemoteRegistryTarget::INNER_L3_WORKER) {
      try {
        installer_.install(c.digest, entry);
      } catch (const std::exception& e) {
        // The staged entry is dropped with its resources: the parent aborts after a failed commit
        // (callables.md 6 row 3), and ABORT of an unknown triple is OK.
        return refused(WireStatus::FAILED, "inner install", e.what(), c.digest, c.target);
      }
      publish_inner_handle(c.digest, *entry.inner_handle);
    }
    table.make_live(c.digest, std::move(entry));
    return ok();
  }
  if (const RegistryEntry* live = table.live(c.digest)) {
    if (live->kind != c.kind) return kind_conflict(c, live->kind, "live");
    return ok();  // prepared while already live: nothing to do
  }
  return refused(WireStatus::NOT_FOUND, "no prepared entry", fmt::format("nothing of kind {} is prepared", to_string(c.kind)),
                 c.digest, c.target);
}

ControlAnswer RegisterControlHandler::abort(const wire::DigestCallableCommand& c) {
  CallableTable& table = registries_.of(c.target);
  if (const RegistryEntry* staged = table.prepared(c.digest)) {
    if (staged->kind != c.kind) return kind_conflict(c, staged->kind, "prepared");
    table.take_prepared(c.digest);  // its staged resources are released here
    return ok();
  }
  if (const RegistryEntry* live = table.live(c.digest); live && live->kind != c.kind)
    return kind_conflict(c, live->kind, "live");
  return ok();  // idempotent
}

ControlAnswer RegisterControlHandler::unregister(const wire::DigestCallableCommand& c) {
  CallableTable& table = registries_.of(c.target);
  const RegistryEntry* staged = table.prepared(c.digest);
  const RegistryEntry* live = table.live(c.digest);
  if (staged && staged->kind != c.kind) return kind_conflict(c, staged->kind, "prepared");
  if (live && live->kind != c.kind) return kind_conflict(c, live->kind, "live");
  table.take_prepared(c.digest);
  if (auto entry = table.take_live(c.digest); entry && c.target == RemoteRegistryTarget::INNER_L3_WORKER)
    installer_.uninstall(c.digest, *entry);
  return ok();  // an unknown digest is success
}

ControlAnswer RegisterControlHandler::probe(const wire::DigestCallableCommand& c) {
  if (c.target != RemoteRegistryTarget::REMOTE_TASK_DISPATCHER)
    return refused(WireStatus::REJECTED, "probe target",
                   "PREPARE_CALLABLE probes only REMOTE_TASK_DISPATCHER (inner entries are never parent-facing)",
                   c.digest, c.target);
  const RegistryEntry* live = registries_.dispatcher.live(c.digest);
  if (!live)
    return refused(WireStatus::NOT_FOUND, "not committed", "the digest is not committed in the dispatcher", c.digest,
                   c.target);
  if (live->kind != c.kind) return kind_conflict(c, live->kind, "live");
  return ok();
}

ControlAnswer RegisterControlHandler::answer(const wire::ControlRequest& request) {
  if (request.version != 1)
    return ControlAnswer{WireStatus::UNSUPPORTED,
                         fmt::format("control {} v{} is not implemented", wire::to_string(request.name), request.version),
                         {}};
  try {
    if (request.name == ControlName::PREPARE_REGISTER_CALLABLE)
      return prepare(wire::decode_register_command(request.command));
    const wire::DigestCallableCommand c = wire::decode_digest_command(request.command);
    switch (request.name) {
      case ControlName::COMMIT_REGISTER_CALLABLE: return commit(c);
      case ControlName::ABORT_REGISTER_CALLABLE: return abort(c);
      case ControlName::UNREGISTER_CALLABLE: return unregister(c);
      case ControlName::PREPARE_CALLABLE: return probe(c);
      default: break;
    }
    return ControlAnswer{WireStatus::UNSUPPORTED,
                         fmt::format("control {} is not a register-family control", wire::to_string(request.name)), {}};
  } catch (const wire::WireError& e) {
    return codec_refusal(request, e);
  } catch (const std::exception& e) {
    return ControlAnswer{WireStatus::FAILED, fmt::format("{} failed: {}", wire::to_string(request.name), e.what()), {}};
  }
}

}  // namespace echelon::session
