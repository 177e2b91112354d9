// The launch and attach halves of opening one remote L3 session from the parent (protocol.md 1.1,
// 5.1, 15.3). Both are plain blocking calls bounded by a deadline and start no thread: the
// bootstrap runs in the engine's launch phase, while other lanes may still fork.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "remote/bootstrap_reply.h"
#include "remote/manifest.h"
#include "transport/deadline.h"
#include "transport/endpoint_address.h"
#include "transport/frame_channel.h"
#include "transport/secret.h"

namespace echelon {

// What a successful bootstrap hands to the attach step.
struct BootstrappedSession {
  remote::LaneAddresses lanes;
  std::optional<transport::Secret> session_key;  // set exactly when a secret was used
};

// Connects to the daemon, sends `manifest` (sealed when `secret` is given), reads and checks the
// reply. Throws Error starting with `who` ("remote worker 1 at 127.0.0.1:19073") and carrying the
// daemon's error text when it refused.
BootstrappedSession bootstrap_remote_session(const transport::EndpointAddress& daemon,
                                             const remote::BootstrapManifest& manifest,
                                             const transport::Secret* secret, transport::Deadline deadline,
                                             const std::string& who);

struct AttachedLanes {
  std::unique_ptr<transport::FrameChannel> command;
  std::unique_ptr<transport::FrameChannel> health;
};

// ucx (buffers.md 9.3): the parent's command and health lanes exist before the bootstrap, which
// carries their worker addresses (written into `manifest`); they receive from then on. This starts
// UCX threads, so it runs only after every local fork of the Worker (RT-704). Throws Error starting
// with `who`, naming the missing library when UCX cannot be loaded.
AttachedLanes open_ucx_parent_lanes(remote::BootstrapManifest& manifest, const std::string& who);

// Connects the command lane (host_tcp: to the runner's port; ucx: the endpoint from `preopened`,
// the lanes of open_ucx_parent_lanes, to the runner's worker address), reads HELLO and admits it
// only when it is READY and its session, worker, version and profile match (with a key: verifies
// it and answers with the parent HELLO), then connects the health lane (with a key: answers the
// runner's health challenge).
AttachedLanes attach_remote_lanes(const transport::EndpointAddress& daemon, const BootstrappedSession& session,
                                  const remote::BootstrapManifest& manifest, transport::Deadline deadline,
                                  const std::string& who, AttachedLanes preopened = {});

}  // namespace echelon
