// The runner's half of the attach sequence (protocol.md 5.1, 15.3): send HELLO on the command lane,
// then take the health lane. On host_tcp the lanes are accepted connections: without a session
// key the first connection on each listener is the lane; with one, a connection becomes the lane
// only once its proof checks out (parent HELLO on the command lane, health proof on the health
// lane), and one that fails or stays silent past the proof timeout is closed while the runner keeps
// accepting until the handoff deadline. On ucx the lanes are the endpoints the runner made to the
// parent's workers (there is nothing to accept), so a failed proof ends the attach.
#pragma once
#include <chrono>
#include <memory>
#include "transport/frame_channel.h"
#include "transport/secret.h"
#include "transport/tcp_listener.h"
#include "wire/hello.h"

namespace echelon::session {

struct AttachLimits {
  transport::Deadline deadline{};           // the handoff deadline, unchanged (RT-911)
  std::chrono::nanoseconds proof_timeout{};  // per connection, counted from accept
};

// Returns the command lane after the HELLO exchange. `hello` is the unsigned READY HELLO; with a
// key it is signed afresh for every connection (a new nonce each time). TIMEOUT at the deadline.
std::unique_ptr<transport::FrameChannel> attach_command_lane(transport::TcpListener& listener,
                                                             const wire::HelloPayload& hello,
                                                             const transport::Secret* session_key,
                                                             const AttachLimits& limits);

// Returns the health lane after the optional sequence-0 proof exchange.
std::unique_ptr<transport::FrameChannel> attach_health_lane(transport::TcpListener& listener, uint64_t session_id,
                                                            int32_t worker_id, const transport::Secret* session_key,
                                                            const AttachLimits& limits);

// The same exchanges on a lane that is already connected (ucx). Throw on a failed proof.
void greet_on_command_lane(transport::FrameChannel& lane, const wire::HelloPayload& hello,
                           const transport::Secret* session_key, const AttachLimits& limits);
void prove_on_health_lane(transport::FrameChannel& lane, uint64_t session_id, int32_t worker_id,
                          const transport::Secret* session_key, const AttachLimits& limits);

}  // namespace echelon::session
