// The profile-neutral view of one lane (command or health, protocol.md 1): an ordered, reliable
// path for whole SLR3 frames to one peer. The remote endpoint and the session runner use only this
// interface once a lane is established, so a second profile (UCX active messages, buffers.md 9.3)
// plugs in by implementing it; establishing a lane is profile specific (host_tcp connects to
// IP:PORT, ucx to a worker address) and lives with each implementation.
//
// Threading: one owner thread drives a channel (poll/send/receive/close). Waiting is done outside
// the channel, on wait_fd(), usually by a Reactor shared with other channels and a wake-up fd.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "transport/deadline.h"
#include "transport/inbound_frame.h"
#include "transport/transport_error.h"
#include "wire/frame_header.h"

namespace echelon::transport {

class FrameChannel {
 public:
  virtual ~FrameChannel() = default;

  // The transport profile name as it travels in HELLO.comm_profile ("host_tcp", "ucx").
  virtual const char* profile() const noexcept = 0;
  // Who is on the other end, for error texts ("127.0.0.1:40123").
  virtual std::string peer() const = 0;

  // Queues one encoded frame without blocking; poll() (or send()) moves it out. A frame the wire
  // codec would reject throws wire::WireError and leaves the channel untouched.
  virtual void post(std::vector<uint8_t> frame) = 0;
  // post() of a frame given as `head` (header and payload start) plus `tail`, which a profile may
  // send from the caller's memory without copying it. `released` runs once, on the owner thread,
  // when `tail` is no longer referenced (sent whole, or dropped by a failure or close()); it is not
  // called when post_parts throws. This default copies and releases at once.
  virtual void post_parts(std::vector<uint8_t> head, std::span<const uint8_t> tail, std::function<void()> released) {
    head.insert(head.end(), tail.begin(), tail.end());
    post(std::move(head));
    if (released) released();
  }
  // Non-blocking progress: writes queued output, reads what has arrived, and returns the next
  // complete inbound frame if there is one. Call it until it returns nullopt after each wake-up.
  virtual std::optional<InboundFrame> poll() = 0;
  // Non-blocking output only: writes queued output as far as the transport takes it, reads
  // nothing; true when nothing is left queued (wants_write() is then false).
  virtual bool flush() = 0;

  // Blocking forms bounded by `deadline`. A timeout fails the channel: after a half-sent request
  // or a missed reply the lane cannot be trusted again (protocol.md 12).
  virtual void send(std::vector<uint8_t> frame, Deadline deadline) = 0;
  // send() of one frame built from its header fields and `payload`, which a profile may write from
  // the caller's memory (no frame-sized copy); `payload` is not referenced after it returns or throws.
  virtual void send_payload(wire::FrameType type, const wire::FrameRoute& route, std::span<const uint8_t> payload,
                            Deadline deadline) {
    send(wire::encode_frame(type, route, payload), deadline);
  }
  // send_payload() of a payload given as `head` (encoded here) followed by `tail`, which a profile
  // may write from the caller's memory; `tail` is not referenced after it returns or throws.
  virtual void send_payload_parts(wire::FrameType type, const wire::FrameRoute& route, std::span<const uint8_t> head,
                                  std::span<const uint8_t> tail, Deadline deadline) {
    std::vector<uint8_t> payload(head.begin(), head.end());
    payload.insert(payload.end(), tail.begin(), tail.end());
    send_payload(type, route, payload, deadline);
  }
  virtual InboundFrame receive(Deadline deadline) = 0;
  // Gives back the bytes of a received frame once the caller is done with them, so a profile can
  // receive a later frame into them instead of fresh storage. Optional; the default drops them.
  virtual void recycle(std::vector<uint8_t> storage) { (void)storage; }
  // Asks the profile to offer the tail of every frame longer than `prefix_bytes` to `router` once
  // that much payload has arrived (wire::FrameAssembler::set_tail_router): a routed frame's tail is
  // received straight into the span the router returns and the frame comes out of poll() with
  // tail_routed set. Returns false when the profile cannot (frames then always arrive whole).
  using TailRouter = std::function<std::span<uint8_t>(const wire::FrameHeader&, std::span<const uint8_t> prefix)>;
  virtual bool set_tail_router(size_t prefix_bytes, TailRouter router) {
    (void)prefix_bytes;
    (void)router;
    return false;
  }

  // A descriptor that becomes readable when poll() may make progress (the socket on host_tcp, an
  // eventfd fed by a progress thread on ucx).
  virtual int wait_fd() const noexcept = 0;
  // Call right before sleeping on wait_fd(): some profiles (ucx) make wait_fd() wake on their
  // next event only then, so that calls followed by more calls skip that cost. False when the
  // channel knows of work already (poll() would return a frame or throw); wait_fd() is then
  // readable, as it is for work the channel has not looked at yet.
  virtual bool prepare_wait() { return true; }
  // True while queued output waits for wait_fd() to become writable; a reactor then also waits for
  // EPOLLOUT. Profiles that progress output on their own thread always return false.
  virtual bool wants_write() const noexcept = 0;

  // Whether the peer's death (not only a deliberate close, which every profile reports) shows up
  // here as a PEER_CLOSED failure. False for a ucx lane over shared memory only: only deadlines
  // catch a dead peer there.
  virtual bool detects_peer_death() const noexcept { return true; }

  // Whether the peer may drive one-sided RMA against this process's registered memory through this
  // channel's connection without putting this process at risk: the transport does RMA itself (the
  // target takes no part), or the emulation's messages cannot fail (no peer failure detection).
  // UCX 1.13 aborts a process whose emulated get reply or put acknowledgement meets a failed
  // endpoint, so a dying peer must never find this process serving one. False for profiles
  // without RMA.
  virtual bool safe_rma_target() const noexcept { return false; }

  // Failure is sticky; the first cause is kept (nullptr while healthy).
  virtual const TransportError* failure() const noexcept = 0;
  bool failed() const noexcept { return failure() != nullptr; }

  // Releases the lane; the peer sees end-of-stream. Idempotent.
  virtual void close() noexcept = 0;
};

}  // namespace echelon::transport
