#include "session/buffer_control_handler.h"

#include <fmt/format.h>

#include <chrono>

#include "session/buffer_refusal.h"
#include "transport/ucx_data_plane.h"
#include "wire/buffer_controls.h"
#include "wire/wire_error.h"

namespace echelon::session {

namespace {

using wire::ControlName;

constexpr auto kRmaCopyBound = std::chrono::seconds(300);

ControlAnswer ok(std::vector<uint8_t> result = {}) { return ControlAnswer{wire::WireStatus::OK, {}, std::move(result)}; }

ControlAnswer apply(BufferRegistry& registry, const wire::ControlRequest& request,
                    std::span<const uint8_t>* borrowed_result) {
  const auto bytes = request.command;
  switch (request.name) {
    case ControlName::ALLOC_REMOTE_BUFFER:
      return ok(wire::encode_alloc_result(registry.alloc(wire::decode_alloc_request(bytes))));
    case ControlName::FREE_REMOTE_BUFFER:
      registry.free(wire::decode_buffer_ref(bytes));
      return ok();
    case ControlName::COPY_TO_REMOTE:
      // A view: the data is written into the allocation straight from the received frame.
      registry.copy_to(wire::decode_copy_to(bytes));
      return ok();
    case ControlName::COPY_FROM_REMOTE:
      if (borrowed_result != nullptr) {
        *borrowed_result = registry.copy_from_view(wire::decode_copy_request(bytes, wire::CopyDirection::FROM_REMOTE),
                                                   MAX_COPY_FROM_RESULT_BYTES);
        return ok();
      }
      return ok(registry.copy_from(wire::decode_copy_request(bytes, wire::CopyDirection::FROM_REMOTE),
                                   MAX_COPY_FROM_RESULT_BYTES));
    case ControlName::EXPORT_BUFFER:
      return ok(wire::encode_export_result(registry.export_buffer(wire::decode_export_request(bytes))));
    case ControlName::IMPORT_BUFFER:
      return ok(wire::encode_import_result(registry.import_buffer(wire::decode_import_request(bytes))));
    case ControlName::RELEASE_IMPORT:
      registry.release_import(wire::decode_release_import(bytes));
      return ok();
    default:
      return ControlAnswer{wire::WireStatus::UNSUPPORTED,
                           fmt::format("control {} is not a buffer-family control", wire::to_string(request.name)),
                           {}};
  }
}

// Version 2 (protocol.md 9.2, ucx): the runner moves the bytes itself, by RMA against the parent's
// registered range through the parent's command worker, and answers only once they are remotely
// complete (flushed), so the reply means the bytes are in place.
ControlAnswer copy_by_rma(BufferRegistry& registry, const wire::ControlRequest& request) {
  const BufferRegistryConfig& config = registry.config();
  const wire::CopyRmaRequest r = wire::decode_copy_rma_request(request.command);
  const std::span<uint8_t> local = registry.rma_copy_range(r);
  const transport::RemoteRange parent{config.parent_command_worker, r.peer_addr, r.peer_rkey};
  // The parent's control deadline decides for the user; this bound only keeps a stalled parent
  // from holding the command loop forever.
  const transport::Deadline deadline = transport::Clock::now() + kRmaCopyBound;
  if (request.name == ControlName::COPY_TO_REMOTE)
    config.data_plane->get(parent, local.data(), local.size(), deadline);
  else
    config.data_plane->put(parent, local.data(), local.size(), deadline);
  return ok();
}

}  // namespace

ControlAnswer answer_buffer_control(BufferRegistry& registry, const wire::ControlRequest& request) {
  return answer_buffer_control(registry, request, nullptr);
}

ControlAnswer answer_buffer_control(BufferRegistry& registry, const wire::ControlRequest& request,
                                    std::span<const uint8_t>* borrowed_result) {
  if (borrowed_result != nullptr) *borrowed_result = {};
  // Version 2 of the copies moves bytes by RMA: only a ucx session implements it.
  const bool rma_copy = request.version == 2 && registry.config().data_plane != nullptr &&
                        (request.name == ControlName::COPY_TO_REMOTE || request.name == ControlName::COPY_FROM_REMOTE);
  if (request.version != 1 && !rma_copy)
    return ControlAnswer{wire::WireStatus::UNSUPPORTED,
                         fmt::format("control {} v{} is not implemented by a {} session",
                                     wire::to_string(request.name), request.version,
                                     registry.config().transport_profile),
                         {}};
  try {
    if (rma_copy) return copy_by_rma(registry, request);
    return apply(registry, request, borrowed_result);
  } catch (const wire::WireError& e) {
    return ControlAnswer{wire::status_for_rejection(e),
                         fmt::format("{} command bytes rejected: {}", wire::to_string(request.name), e.what()),
                         {}};
  } catch (const BufferRefusal& e) {
    return ControlAnswer{e.status(), e.what(), {}};
  } catch (const std::exception& e) {
    return ControlAnswer{wire::WireStatus::FAILED, fmt::format("{} failed: {}", wire::to_string(request.name), e.what()),
                         {}};
  }
}

}  // namespace echelon::session
