#include "session/lane_attach.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "transport/auth.h"
#include "transport/host_tcp_channel.h"
#include "transport/lane_auth.h"
#include "wire/frame_codec.h"

namespace echelon::session {

namespace {

using transport::Clock;
using transport::Deadline;
using transport::FrameChannel;

Deadline proof_deadline(const AttachLimits& limits) {
  return std::min(limits.deadline, Clock::now() + limits.proof_timeout);
}

std::unique_ptr<FrameChannel> accept_one(transport::TcpListener& listener, const AttachLimits& limits) {
  return std::make_unique<transport::HostTcpChannel>(listener.accept(limits.deadline));
}

// A frame read during a proof must belong to this session; anything else is a failed proof.
wire::TypedFrame receive_proof_frame(FrameChannel& lane, wire::FrameType type, uint64_t session_id,
                                     int32_t worker_id, const AttachLimits& limits) {
  const auto inbound = lane.receive(proof_deadline(limits));
  auto frame = wire::decode_typed_frame(inbound.bytes);
  if (frame.header.type != type || frame.header.session_id != session_id || frame.header.worker_id != worker_id ||
      frame.header.sequence != 0)
    transport::fail_authentication("unexpected frame during the proof exchange");
  return frame;
}

// Logs a refused connection (stderr) without saying which check failed to the peer.
void log_refused(const char* lane, const FrameChannel& channel, const std::exception& e) {
  const auto* auth = dynamic_cast<const transport::AuthError*>(&e);
  std::fprintf(stderr, "echelon-l3-session: refused %s lane connection from %s: %s\n", lane, channel.peer().c_str(),
               auth ? auth->reason().c_str() : e.what());
}

wire::FrameHeader header_for(wire::FrameType type, uint64_t session_id, int32_t worker_id) {
  wire::FrameHeader h;
  h.type = type;
  h.session_id = session_id;
  h.worker_id = worker_id;
  h.sequence = 0;
  return h;
}

}  // namespace

void greet_on_command_lane(FrameChannel& lane, const wire::HelloPayload& hello, const transport::Secret* session_key,
                           const AttachLimits& limits) {
  wire::HelloPayload sent = hello;
  if (session_key) transport::sign_runner_hello(sent, *session_key);  // a new nonce every time
  const auto header = header_for(wire::FrameType::HELLO, hello.session_id, hello.worker_id);
  if (!session_key) {
    lane.send(wire::encode_typed_frame({header, sent}), limits.deadline);
    return;
  }
  lane.send(wire::encode_typed_frame({header, sent}), proof_deadline(limits));
  const auto reply = receive_proof_frame(lane, wire::FrameType::HELLO, hello.session_id, hello.worker_id, limits);
  transport::verify_parent_hello(std::get<wire::HelloPayload>(reply.payload), sent, *session_key);
}

void prove_on_health_lane(FrameChannel& lane, uint64_t session_id, int32_t worker_id,
                          const transport::Secret* session_key, const AttachLimits& limits) {
  if (!session_key) return;
  const auto nonce = transport::random_nonce();
  wire::HealthProof challenge;
  std::copy(nonce.begin(), nonce.end(), challenge.bytes.begin());
  lane.send(wire::encode_typed_frame({header_for(wire::FrameType::HEALTH, session_id, worker_id), challenge}),
            proof_deadline(limits));
  const auto reply = receive_proof_frame(lane, wire::FrameType::HEALTH, session_id, worker_id, limits);
  const auto* proof = std::get_if<wire::HealthProof>(&reply.payload);
  if (!proof) transport::fail_authentication("health proof frame without a proof");
  transport::verify_health_proof(*session_key, nonce, proof->bytes);
}

std::unique_ptr<FrameChannel> attach_command_lane(transport::TcpListener& listener, const wire::HelloPayload& hello,
                                                  const transport::Secret* session_key, const AttachLimits& limits) {
  for (;;) {
    auto lane = accept_one(listener, limits);
    if (!session_key) {
      greet_on_command_lane(*lane, hello, nullptr, limits);
      return lane;
    }
    try {
      greet_on_command_lane(*lane, hello, session_key, limits);
      return lane;
    } catch (const std::exception& e) {
      log_refused("command", *lane, e);
      lane->close();
    }
  }
}

std::unique_ptr<FrameChannel> attach_health_lane(transport::TcpListener& listener, uint64_t session_id,
                                                 int32_t worker_id, const transport::Secret* session_key,
                                                 const AttachLimits& limits) {
  for (;;) {
    auto lane = accept_one(listener, limits);
    if (!session_key) return lane;
    try {
      prove_on_health_lane(*lane, session_id, worker_id, session_key, limits);
      return lane;
    } catch (const std::exception& e) {
      log_refused("health", *lane, e);
      lane->close();
    }
  }
}

}  // namespace echelon::session
