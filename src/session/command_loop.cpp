#include "session/command_loop.h"

#include <fmt/format.h>
#include <poll.h>

#include <cerrno>
#include <thread>

#include "session/buffer_control_handler.h"
#include "session/runner_error_text.h"
#include "transport/transport_error.h"
#include "wire/buffer_controls.h"
#include "wire/completion.h"
#include "wire/control.h"
#include "wire/task_payload.h"
#include "wire/wire_error.h"

namespace echelon::session {

namespace {

// How often an idle loop looks at the health lane's state. Frames wake it at once; this only
// bounds how late a failed health send is noticed while the command lane is silent.
constexpr int IDLE_CHECK_MS = 50;

SessionOutcome violation(std::string reason) { return {SessionEnd::PROTOCOL_VIOLATION, std::move(reason)}; }

}  // namespace

const char* to_string(SessionEnd end) {
  switch (end) {
    case SessionEnd::SHUTDOWN: return "SHUTDOWN";
    case SessionEnd::PEER_CLOSED: return "PEER_CLOSED";
    case SessionEnd::PROTOCOL_VIOLATION: return "PROTOCOL_VIOLATION";
    case SessionEnd::LANE_FAILED: return "LANE_FAILED";
    case SessionEnd::HEALTH_FAILED: return "HEALTH_FAILED";
  }
  return "?";
}

void CommandLoop::wait_for_input() {
  if (!lane_.prepare_wait()) return;  // work already: poll() again
  pollfd p{lane_.wait_fd(), static_cast<short>(POLLIN | (lane_.wants_write() ? POLLOUT : 0)), 0};
  while (::poll(&p, 1, IDLE_CHECK_MS) < 0 && errno == EINTR) {
  }
}

void CommandLoop::send_reply(wire::FrameType type, uint64_t sequence, std::vector<uint8_t> payload) {
  const wire::FrameRoute route{config_.session_id, config_.identity.worker_id, sequence, 0};
  // The payload is written from its own buffer after the 40-byte header (no frame-sized copy).
  lane_.send_payload(type, route, payload, transport::Clock::now() + config_.reply_send_timeout);
}

void CommandLoop::answer_task(const transport::InboundFrame& frame) {
  const uint64_t seq = frame.header.sequence;
  wire::CompletionPayload completion;
  try {
    const auto task = wire::decode_task(frame.payload());
    completion = dispatcher_.run(seq, task, inner_, buffers_);
  } catch (const wire::WireError& e) {
    // The frame was well-formed but its payload was not: reject the request, keep the session.
    completion = wire::make_completion(
        seq, wire::WireStatus::REJECTED,
        task_error_text(config_.identity.host, config_.identity.worker_id, Digest{}, seq,
                        fmt::format("TASK payload rejected: {}", e.what())));
  }
  send_reply(wire::FrameType::COMPLETION, seq, wire::encode_completion(completion));
}

void CommandLoop::answer_control(const transport::InboundFrame& frame) {
  const uint64_t seq = frame.header.sequence;
  // The envelope must decode (its name and version are echoed); a broken envelope is a
  // malformed frame and throws to the caller. A bad command body inside a good envelope is only
  // a refused request (REJECTED), answered below.
  const auto request = wire::decode_control(frame.payload());
  const char* name = wire::to_string(request.name);
  ControlAnswer answer;
  std::span<const uint8_t> borrowed;  // an OK COPY_FROM_REMOTE result, still in the allocation
  const FaultInjector::Decision fault = fault_decision(seq, request.name);
  if (fault == FaultInjector::Decision::STALL) std::this_thread::sleep_for(faults_.stall());  // test hook only
  if (fault == FaultInjector::Decision::FAIL) {
    answer = {wire::WireStatus::FAILED, fmt::format("injected fault (ECHELON_TEST_FAULT): {} was not applied", name), {}};
  } else if (!wire::is_implemented(request.name, request.version)) {
    answer = {wire::WireStatus::UNSUPPORTED, fmt::format("control {} v{} is not implemented", name, request.version), {}};
  } else if (wire::family_of(request.name) == wire::ControlFamily::BUFFER) {
    answer = answer_buffer_control(buffers_, request, &borrowed);
  } else if (wire::family_of(request.name) == wire::ControlFamily::REGISTER) {
    answer = registrations_.answer(request);
  } else {
    answer = {wire::WireStatus::UNSUPPORTED,
              fmt::format("control {} v{} is not supported by this session", name, request.version), {}};
  }
  wire::ControlReply reply;
  reply.sequence = seq;
  reply.name = request.name;
  reply.version = request.version;
  reply.error_code = static_cast<int32_t>(answer.status);
  std::string text;
  if (answer.status != wire::WireStatus::OK) {
    text = control_error_text(config_.identity.host, config_.identity.worker_id, name, seq, answer.failure);
    answer.result.clear();  // a refused control carries no result
    borrowed = {};
  }
  reply.error_message = text;
  if (!borrowed.empty()) {
    // Header + envelope, then the result written straight from shared memory: no copy of the data.
    const wire::FrameRoute route{config_.session_id, config_.identity.worker_id, seq, 0};
    lane_.send_payload_parts(wire::FrameType::CONTROL_REPLY, route, wire::encode_control_reply_head(reply, borrowed.size()),
                             borrowed, transport::Clock::now() + config_.reply_send_timeout);
    return;
  }
  reply.result = answer.result;
  send_reply(wire::FrameType::CONTROL_REPLY, seq, wire::encode_control_reply(reply));
}

FaultInjector::Decision CommandLoop::fault_decision(uint64_t sequence, wire::ControlName name) {
  if (predecided_ && predecided_->sequence == sequence) {
    const FaultInjector::Decision d = predecided_->decision;
    predecided_.reset();
    return d;
  }
  predecided_.reset();
  return faults_.on_control(name);
}

std::span<uint8_t> CommandLoop::route_copy_to(const wire::FrameHeader& h, std::span<const uint8_t> prefix) noexcept {
  try {
    // Only a frame handle() will accept: this session and worker, a CONTROL, the next sequence.
    if (h.type != wire::FrameType::CONTROL || h.session_id != config_.session_id ||
        h.worker_id != config_.identity.worker_id || h.sequence != sequence_.last() + 1)
      return {};
    const auto head = wire::decode_copy_to_control_prefix(prefix, h.payload_bytes);
    if (!head) return {};
    // The fault hook sees every control once: asked now, its answer is kept for answer_control.
    const FaultInjector::Decision fault = faults_.on_control(wire::ControlName::COPY_TO_REMOTE);
    predecided_ = Predecided{h.sequence, fault};
    if (fault != FaultInjector::Decision::NONE) return {};
    // Every refusal (worker, unknown, stale, freed, range) throws here and the frame arrives whole,
    // so answer_control refuses it with the usual code and nothing is written.
    const std::span<uint8_t> to = buffers_.copy_to_destination(*head);
    predecided_.reset();
    return to;
  } catch (...) {
    return {};
  }
}

void CommandLoop::answer_routed_copy_to(const transport::InboundFrame& frame) {
  // route_copy_to checked everything answer_buffer_control would and the data is in place.
  wire::ControlReply reply;
  reply.sequence = frame.header.sequence;
  reply.name = wire::ControlName::COPY_TO_REMOTE;
  reply.version = 1;
  reply.error_code = static_cast<int32_t>(wire::WireStatus::OK);
  send_reply(wire::FrameType::CONTROL_REPLY, frame.header.sequence, wire::encode_control_reply(reply));
}

std::optional<SessionOutcome> CommandLoop::handle(const transport::InboundFrame& frame) {
  const auto& h = frame.header;
  if (h.session_id != config_.session_id || h.worker_id != config_.identity.worker_id)
    return violation(fmt::format("{} frame for session {} worker {}, this is session {} worker {}", to_string(h.type),
                                 h.session_id, h.worker_id, config_.session_id, config_.identity.worker_id));
  if (h.type != wire::FrameType::TASK && h.type != wire::FrameType::CONTROL && h.type != wire::FrameType::SHUTDOWN)
    return violation(fmt::format("{} frame on the command lane from the parent", to_string(h.type)));
  try {
    sequence_.accept(h.sequence);
  } catch (const std::exception& e) {
    return violation(e.what());
  }
  try {
    switch (h.type) {
      case wire::FrameType::SHUTDOWN: return SessionOutcome{SessionEnd::SHUTDOWN, "SHUTDOWN received"};
      case wire::FrameType::TASK: answer_task(frame); break;
      case wire::FrameType::CONTROL:
        if (frame.tail_routed) answer_routed_copy_to(frame);
        else answer_control(frame);
        break;
      default: answer_control(frame); break;
    }
  } catch (const wire::WireError& e) {
    return violation(e.what());
  } catch (const transport::TransportError& e) {
    return SessionOutcome{SessionEnd::LANE_FAILED, e.what()};
  }
  return std::nullopt;
}

SessionOutcome CommandLoop::run() {
  lane_.set_tail_router(wire::COPY_TO_CONTROL_PREFIX_BYTES,
                        [this](const wire::FrameHeader& h, std::span<const uint8_t> prefix) {
                          return route_copy_to(h, prefix);
                        });
  for (;;) {
    if (health_.failed()) return {SessionEnd::HEALTH_FAILED, health_.failure()};
    try {
      while (auto frame = lane_.poll()) {
        auto end = handle(*frame);
        lane_.recycle(std::move(frame->bytes));  // the next bulk frame is received into it
        if (end) return *end;
      }
    } catch (const transport::TransportError& e) {
      if (e.code() == transport::TransportErrc::PEER_CLOSED) return {SessionEnd::PEER_CLOSED, e.what()};
      if (e.code() == transport::TransportErrc::MALFORMED_FRAME) return violation(e.what());
      return {SessionEnd::LANE_FAILED, e.what()};
    } catch (const std::exception& e) {
      return violation(e.what());
    }
    wait_for_input();
  }
}

}  // namespace echelon::session
