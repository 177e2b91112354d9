#include "endpoint/remote_session_open.h"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "echelon/errors.h"
#include "fmt/format.h"
#include "transport/auth.h"
#include "transport/bootstrap_auth.h"
#include "transport/bootstrap_message.h"
#include "transport/host_tcp_channel.h"
#include "transport/lane_auth.h"
#include "transport/ucx_lane.h"
#include "remote/strict_json.h"
#include "wire/frame_codec.h"
#include "wire/hello.h"

namespace echelon {
namespace {

using transport::Clock;
using transport::Deadline;

// protocol.md 15.3: the daemon's challenge comes at once or not at all.
constexpr auto kChallengeBound = std::chrono::seconds(5);

std::string_view as_text(const std::vector<uint8_t>& bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

transport::EndpointAddress lane_address(const transport::EndpointAddress& daemon, uint16_t port) {
  transport::EndpointAddress a = daemon;
  a.port = port;
  return a;
}

wire::FrameHeader header_for(wire::FrameType type, const remote::BootstrapManifest& m) {
  wire::FrameHeader h;
  h.type = type;
  h.session_id = m.session_id;
  h.worker_id = static_cast<int32_t>(m.worker_id);
  h.sequence = 0;
  return h;
}

// RT-905: a HELLO makes the endpoint schedulable only when everything in it is what we asked for.
void check_hello(const wire::HelloPayload& hello, const remote::BootstrapManifest& m, const std::string& who) {
  auto refuse = [&](const std::string& why) { throw Error(fmt::format("{}: HELLO refused: {}", who, why)); };
  if (hello.session_id != m.session_id)
    refuse(fmt::format("session id {} is not this session ({})", hello.session_id, m.session_id));
  if (hello.worker_id != static_cast<int32_t>(m.worker_id))
    refuse(fmt::format("worker id {} is not {}", hello.worker_id, m.worker_id));
  if (hello.protocol_version != wire::WIRE_VERSION)
    refuse(fmt::format("protocol version {} is not {}", hello.protocol_version, wire::WIRE_VERSION));
  const char* profile = remote::to_string(m.transport_profile);
  if (hello.comm_profile != profile) refuse(fmt::format("profile '{}' is not '{}'", hello.comm_profile, profile));
  if (hello.ready_state != wire::ReadyState::READY) refuse("the runner is not READY");
  if ((hello.feature_flags & ~m.requested_features) != 0)
    refuse(fmt::format("features {:#x} were granted but not requested ({:#x})", hello.feature_flags,
                       m.requested_features));
  if ((hello.feature_flags & m.required_features) != m.required_features)
    refuse(fmt::format("required features {:#x} were not granted ({:#x})", m.required_features, hello.feature_flags));
}

transport::ucx::LaneOptions ucx_lane_options(transport::ucx::LaneKind kind, const remote::BootstrapManifest& m) {
  transport::ucx::LaneOptions o;
  o.kind = kind;
  o.side = transport::ucx::LaneSide::PARENT;
  o.name = fmt::format("parent-{} w{}", kind == transport::ucx::LaneKind::COMMAND ? "command" : "health", m.worker_id);
  o.first_sequence = 0;  // the runner's HELLO, then the replies to requests 1, 2, ...
  // The endpoint's I/O thread (before it, the attaching thread) drives the worker itself: no
  // hand-off to a progress thread on either path of a round trip.
  o.owner_driven = true;
  return o;
}

// Makes `lane` (command or health) reach the runner: host_tcp connects to its port, ucx makes the
// endpoint of the lane opened before the bootstrap to the runner's worker address.
void connect_lane(std::unique_ptr<transport::FrameChannel>& lane, const transport::EndpointAddress& daemon,
                  const remote::LaneAddresses& to, bool command, Deadline deadline) {
  if (to.profile == remote::TransportProfile::HOST_TCP) {
    lane = transport::HostTcpChannel::connect(lane_address(daemon, command ? to.command_port : to.health_port), deadline);
    return;
  }
  auto* ucx = dynamic_cast<transport::UcxLaneChannel*>(lane.get());
  if (!ucx) throw Error("the ucx lanes were not opened before the bootstrap");
  const std::string& hex = command ? to.ucx_command_worker_addr : to.ucx_health_worker_addr;
  ucx->connect(remote::from_lower_hex(hex, command ? "reply.ucx_command_worker_addr" : "reply.ucx_health_worker_addr"),
               deadline);
}

}  // namespace

AttachedLanes open_ucx_parent_lanes(remote::BootstrapManifest& manifest, const std::string& who) {
  try {
    AttachedLanes lanes;
    auto command = transport::UcxLaneChannel::create(ucx_lane_options(transport::ucx::LaneKind::COMMAND, manifest));
    auto health = transport::UcxLaneChannel::create(ucx_lane_options(transport::ucx::LaneKind::HEALTH, manifest));
    manifest.ucx_parent_command_worker_addr = remote::to_lower_hex(command->worker_address());
    manifest.ucx_parent_health_worker_addr = remote::to_lower_hex(health->worker_address());
    lanes.command = std::move(command);
    lanes.health = std::move(health);
    return lanes;
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: opening the ucx lanes failed: {}", who, e.what()));
  }
}

BootstrappedSession bootstrap_remote_session(const transport::EndpointAddress& daemon,
                                             const remote::BootstrapManifest& manifest,
                                             const transport::Secret* secret, Deadline deadline,
                                             const std::string& who) {
  try {
    const std::string json = remote::to_json(manifest);
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(json.data()), json.size());
    transport::TcpSocket socket = transport::TcpSocket::connect(daemon, deadline);
    BootstrappedSession session;
    std::vector<uint8_t> reply_bytes;
    if (secret) {
      transport::BootstrapNonces nonces;
      reply_bytes = transport::client_bootstrap_exchange(socket, *secret, bytes,
                                                         std::min(deadline, Clock::now() + kChallengeBound), deadline,
                                                         nonces);
      session.session_key = transport::derive_session_key(*secret, nonces.daemon_nonce, nonces.client_nonce,
                                                          manifest.session_id,
                                                          static_cast<int32_t>(manifest.worker_id));
    } else {
      transport::write_bootstrap_message(socket, bytes, deadline);
      reply_bytes = transport::read_bootstrap_message(socket, deadline);
      if (transport::is_auth_envelope(reply_bytes))
        throw Error("the daemon requires authentication; set RemoteWorkerSpec.auth_secret_file");
    }
    const remote::BootstrapReply reply = remote::parse_reply(as_text(reply_bytes));
    if (const auto* refused = std::get_if<remote::ReplyError>(&reply.outcome))
      throw Error(fmt::format("the daemon refused the session: {}", refused->text()));
    remote::check_reply_matches(reply, manifest);
    session.lanes = std::get<remote::LaneAddresses>(reply.outcome);
    return session;
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: bootstrap failed: {}", who, e.what()));
  }
}

AttachedLanes attach_remote_lanes(const transport::EndpointAddress& daemon, const BootstrappedSession& session,
                                  const remote::BootstrapManifest& manifest, Deadline deadline,
                                  const std::string& who, AttachedLanes preopened) {
  AttachedLanes lanes = std::move(preopened);
  const transport::Secret* key = session.session_key ? &*session.session_key : nullptr;
  try {
    connect_lane(lanes.command, daemon, session.lanes, true, deadline);
    const auto first = lanes.command->receive(deadline);
    const auto typed = wire::decode_typed_frame(first.bytes);  // also checks HELLO against its header
    const auto* hello = std::get_if<wire::HelloPayload>(&typed.payload);
    if (!hello) throw Error(fmt::format("the first command-lane frame is {}, not HELLO", wire::to_string(typed.header.type)));
    if (key) transport::verify_runner_hello(*hello, *key);
    check_hello(*hello, manifest, who);
    if (key)
      lanes.command->send(
          wire::encode_typed_frame({header_for(wire::FrameType::HELLO, manifest), transport::make_parent_hello(*hello, *key)}),
          deadline);

    connect_lane(lanes.health, daemon, session.lanes, false, deadline);
    if (key) {
      const auto challenge = wire::decode_typed_frame(lanes.health->receive(deadline).bytes);
      const auto* nonce = std::get_if<wire::HealthProof>(&challenge.payload);
      if (challenge.header.type != wire::FrameType::HEALTH || challenge.header.sequence != 0 || !nonce)
        throw Error("the first health-lane frame is not the HEALTH 0 challenge");
      transport::Nonce runner_nonce{};
      std::copy(nonce->bytes.begin(), nonce->bytes.end(), runner_nonce.begin());
      wire::HealthProof proof;
      const transport::Mac mac = transport::health_proof(*key, runner_nonce);
      std::copy(mac.begin(), mac.end(), proof.bytes.begin());
      lanes.health->send(wire::encode_typed_frame({header_for(wire::FrameType::HEALTH, manifest), proof}), deadline);
    }
    return lanes;
  } catch (const std::exception& e) {
    if (lanes.command) lanes.command->close();
    if (lanes.health) lanes.health->close();
    const std::string text = e.what();
    if (text.rfind(who, 0) == 0) throw;  // already names the worker
    throw Error(fmt::format("{}: attaching the session lanes failed: {}", who, text));
  }
}

}  // namespace echelon
