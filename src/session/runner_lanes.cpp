#include "session/runner_lanes.h"

#include <fmt/format.h>

#include "remote/strict_json.h"
#include "transport/ucx_lane.h"

namespace echelon::session {
namespace {

namespace ucx = transport::ucx;

std::unique_ptr<transport::UcxLaneChannel> ucx_lane(ucx::LaneKind kind, const remote::BootstrapManifest& m,
                                                    bool authenticated, const std::string& parent_hex,
                                                    const char* key, transport::Deadline deadline) {
  ucx::LaneOptions o;
  o.kind = kind;
  o.side = ucx::LaneSide::RUNNER;
  o.name = fmt::format("runner-{} w{}", kind == ucx::LaneKind::COMMAND ? "command" : "health", m.worker_id);
  // The parent's first command frame: its HELLO (sequence 0) with authentication, else request 1.
  o.first_sequence = authenticated ? 0 : 1;
  // The command loop (command lane) and the health thread (health lane) drive their workers
  // themselves, as they drive their sockets on host_tcp.
  o.owner_driven = true;
  auto lane = transport::UcxLaneChannel::create(o);
  lane->connect(remote::from_lower_hex(parent_hex, fmt::format("manifest.{}", key)), deadline);
  return lane;
}

}  // namespace

RunnerLanes RunnerLanes::open(const remote::BootstrapManifest& manifest, const std::string& bind_ip,
                              bool authenticated, transport::Deadline deadline) {
  RunnerLanes lanes;
  lanes.profile_ = manifest.transport_profile;
  if (lanes.profile_ == remote::TransportProfile::HOST_TCP) {
    const transport::EndpointAddress bind = transport::parse_endpoint_address(bind_ip + ":0");
    lanes.command_listener_.emplace(transport::TcpListener::listen(bind));
    lanes.health_listener_.emplace(transport::TcpListener::listen(bind));
    return lanes;
  }
  auto command = ucx_lane(ucx::LaneKind::COMMAND, manifest, authenticated, manifest.ucx_parent_command_worker_addr,
                          "ucx_parent_command_worker_addr", deadline);
  auto health = ucx_lane(ucx::LaneKind::HEALTH, manifest, authenticated, manifest.ucx_parent_health_worker_addr,
                         "ucx_parent_health_worker_addr", deadline);
  lanes.ucx_command_address_ = remote::to_lower_hex(command->worker_address());
  lanes.ucx_health_address_ = remote::to_lower_hex(health->worker_address());
  lanes.ucx_.command = std::move(command);
  lanes.ucx_.health = std::move(health);
  return lanes;
}

remote::LaneAddresses RunnerLanes::addresses() const {
  remote::LaneAddresses a;
  a.profile = profile_;
  if (profile_ == remote::TransportProfile::HOST_TCP) {
    a.command_port = command_listener_->local_address().port;
    a.health_port = health_listener_->local_address().port;
  } else {
    a.ucx_command_worker_addr = ucx_command_address_;
    a.ucx_health_worker_addr = ucx_health_address_;
  }
  return a;
}

HeldLanes RunnerLanes::attach(const wire::HelloPayload& hello, const transport::Secret* session_key,
                              const AttachLimits& limits) {
  if (profile_ == remote::TransportProfile::HOST_TCP) {
    HeldLanes held;
    try {
      held.command = attach_command_lane(*command_listener_, hello, session_key, limits);
      held.health = attach_health_lane(*health_listener_, hello.session_id, hello.worker_id, session_key, limits);
    } catch (...) {
      command_listener_->close();
      health_listener_->close();
      throw;
    }
    command_listener_->close();  // one connection per lane, then no listener stays open (5.1)
    health_listener_->close();
    return held;
  }
  greet_on_command_lane(*ucx_.command, hello, session_key, limits);
  prove_on_health_lane(*ucx_.health, hello.session_id, hello.worker_id, session_key, limits);
  return std::move(ucx_);
}

}  // namespace echelon::session
