// The runner's two lanes between prestart step 6 and the end of the attach (protocol.md 5.1), per
// transport profile. host_tcp: two listeners on ephemeral ports, whose ports the bootstrap reply
// announces, closed once both lanes are held. ucx (buffers.md 9.3): the command and health lanes
// with their endpoints to the parent's workers (the manifest names them), whose own worker
// addresses the reply announces; there is nothing to accept.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "remote/bootstrap_reply.h"
#include "remote/manifest.h"
#include "session/lane_attach.h"
#include "transport/frame_channel.h"
#include "transport/secret.h"
#include "transport/tcp_listener.h"
#include "wire/hello.h"

namespace echelon::session {

struct HeldLanes {
  std::unique_ptr<transport::FrameChannel> command;
  std::unique_ptr<transport::FrameChannel> health;
};

class RunnerLanes {
 public:
  // Opens what the parent will reach. ucx creates the process's UCP context, workers and progress
  // threads here, so it must run after every fork of the runner (RT-904 step 6). Throws with the
  // transport's reason (a missing libucp is named there).
  static RunnerLanes open(const remote::BootstrapManifest& manifest, const std::string& bind_ip, bool authenticated,
                          transport::Deadline deadline);

  // What the bootstrap reply carries.
  remote::LaneAddresses addresses() const;
  // The runner's half of the attach: HELLO on the command lane, then the health lane (with a key,
  // each proof). No listener stays open after it returns or throws.
  HeldLanes attach(const wire::HelloPayload& hello, const transport::Secret* session_key, const AttachLimits& limits);

 private:
  remote::TransportProfile profile_ = remote::TransportProfile::HOST_TCP;
  std::optional<transport::TcpListener> command_listener_;
  std::optional<transport::TcpListener> health_listener_;
  HeldLanes ucx_;
  std::string ucx_command_address_;
  std::string ucx_health_address_;
};

}  // namespace echelon::session
