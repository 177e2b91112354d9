// The ucx profile of FrameChannel (buffers.md 9.3): a command or health lane over one UCP worker
// and endpoint in libechelon_ucx.so (ucx::Lane), adapted to the profile-neutral interface the
// endpoint and the runner use. The lane's progress thread owns the worker; this adapter is driven by
// one owner thread, and wait_fd() (an eventfd the progress thread signals) plugs into a Reactor.
//
// Set-up: create() makes the lane's worker (it receives from then on), worker_address() goes into
// the manifest or bootstrap reply, and connect() makes the endpoint to the peer worker's address
// with peer error handling where UCX_TLS has a transport that detects peer failure (tcp, RDMA); with
// only UCX 1.13 shared memory (posix, sysv) the lane runs without it (detects_peer_failure()).
#pragma once

#include <memory>
#include <optional>

#include "transport/frame_channel.h"
#include "transport/ucx/ucx_api.h"

namespace echelon::transport {

inline constexpr const char* UCX_PROFILE = "ucx";

class UcxLaneChannel final : public FrameChannel {
 public:
  // A lane in `module`'s process-wide context (created now if needed: only after any fork).
  static std::unique_ptr<UcxLaneChannel> create(ucx::Module& module, const ucx::LaneOptions& options);
  // As above with load_ucx_module().
  static std::unique_ptr<UcxLaneChannel> create(const ucx::LaneOptions& options);
  ~UcxLaneChannel() override { close(); }

  // This lane's UCP worker address (bytes for ucx_*_worker_addr).
  std::vector<uint8_t> worker_address() const { return lane_->address(); }
  // The endpoint to the peer's lane worker; frames posted earlier go out once it exists.
  void connect(std::span<const uint8_t> peer_address, Deadline deadline) { lane_->connect(peer_address, deadline); }
  ucx::Lane& lane() noexcept { return *lane_; }
  bool detects_peer_failure() const { return lane_->detects_peer_failure(); }
  bool detects_peer_death() const noexcept override;
  bool safe_rma_target() const noexcept override;

  const char* profile() const noexcept override { return UCX_PROFILE; }
  std::string peer() const override;
  void post(std::vector<uint8_t> frame) override;
  std::optional<InboundFrame> poll() override;
  bool flush() override;
  void send(std::vector<uint8_t> frame, Deadline deadline) override;
  InboundFrame receive(Deadline deadline) override;
  int wait_fd() const noexcept override { return lane_->wait_fd(); }
  bool prepare_wait() override;
  bool wants_write() const noexcept override { return false; }  // the progress thread sends
  const TransportError* failure() const noexcept override;
  void close() noexcept override { lane_->close(); }

 private:
  UcxLaneChannel(std::unique_ptr<ucx::Lane> lane, ucx::LaneOptions options)
      : lane_(std::move(lane)), options_(std::move(options)) {}
  void check_frame(const std::vector<uint8_t>& frame) const;

  std::unique_ptr<ucx::Lane> lane_;
  ucx::LaneOptions options_;
  mutable std::optional<TransportError> failure_;  // the lane's first failure, once seen
};

}  // namespace echelon::transport
