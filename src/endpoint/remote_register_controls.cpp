#include "endpoint/remote_register_controls.h"

#include "echelon/errors.h"
#include "fmt/format.h"
#include "wire/control.h"
#include "wire/register_controls.h"
#include "wire/wire_error.h"

namespace echelon::remote_controls {
namespace {

using wire::ControlName;

wire::RemoteRegistryTarget wire_target(RemoteRegistry r) {
  return r == RemoteRegistry::DISPATCHER ? wire::RemoteRegistryTarget::REMOTE_TASK_DISPATCHER
                                         : wire::RemoteRegistryTarget::INNER_L3_WORKER;
}

template <typename Encode>
ControlRequest build(ControlName name, Encode&& encode) {
  try {
    return ControlRequest{wire::to_string(name), encode()};
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("{} request: {}", wire::to_string(name), e.what()));
  }
}

ControlRequest digest_command(ControlName name, RemoteRegistry registry, CallableKind kind, const Digest& digest) {
  return build(name, [&] {
    wire::DigestCallableCommand c;
    c.target = wire_target(registry);
    c.kind = kind;
    c.digest = digest;
    return wire::encode_digest_command(c);
  });
}

}  // namespace

wire::ChipCallablePayload inline_chip_payload(const ChipCallable& kernel) {
  wire::ChipCallablePayload p;
  p.descriptor = kernel.descriptor();
  p.blob_location = wire::BlobLocation::INLINE_BLOB;
  p.blob_size = kernel.blob().size();
  p.blob_sha256 = kernel.blob_sha256();
  p.inline_blob = kernel.blob();
  return p;
}

std::vector<uint8_t> chip_payload(const ChipCallable& kernel) { return wire::encode_chip_payload(inline_chip_payload(kernel)); }

ControlRequest prepare_register(RemoteRegistry registry, const RemoteCallable& callable) {
  return build(ControlName::PREPARE_REGISTER_CALLABLE, [&] {
    wire::RegisterCallableCommand c;
    c.target = wire_target(registry);
    c.kind = callable.kind();
    c.digest = callable.identity().digest;
    if (const ChipCallable* kernel = callable.kernel()) c.payload = chip_payload(*kernel);
    else c.payload.assign(callable.target().begin(), callable.target().end());
    return wire::encode_register_command(c);
  });
}

std::optional<Digest> prepare_register_result(const ControlReply& reply, CallableKind kind) {
  if (!reply.ok)
    throw ControlError(fmt::format("PREPARE_REGISTER_CALLABLE failed{}: {}", reply.uncertain ? " (effect uncertain)" : "",
                                   reply.error));
  try {
    return wire::decode_prepare_register_result(reply.payload, kind).resolved_library_sha256;
  } catch (const wire::WireError& e) {
    throw ControlError(fmt::format("PREPARE_REGISTER_CALLABLE reply: {}", e.what()));
  }
}

ControlRequest commit_register(RemoteRegistry registry, CallableKind kind, const Digest& digest) {
  return digest_command(ControlName::COMMIT_REGISTER_CALLABLE, registry, kind, digest);
}

ControlRequest abort_register(RemoteRegistry registry, CallableKind kind, const Digest& digest) {
  return digest_command(ControlName::ABORT_REGISTER_CALLABLE, registry, kind, digest);
}

ControlRequest unregister_callable(RemoteRegistry registry, CallableKind kind, const Digest& digest) {
  return digest_command(ControlName::UNREGISTER_CALLABLE, registry, kind, digest);
}

ControlRequest prepare_callable(CallableKind kind, const Digest& digest) {
  return digest_command(ControlName::PREPARE_CALLABLE, RemoteRegistry::DISPATCHER, kind, digest);
}

}  // namespace echelon::remote_controls
