#include "transport/ucx_lane.h"

#include <fmt/format.h>

#include "transport/ucx_module.h"

namespace echelon::transport {

std::unique_ptr<UcxLaneChannel> UcxLaneChannel::create(ucx::Module& module, const ucx::LaneOptions& options) {
  auto lane = module.context()->create_lane(options);
  return std::unique_ptr<UcxLaneChannel>(new UcxLaneChannel(std::move(lane), options));
}

std::unique_ptr<UcxLaneChannel> UcxLaneChannel::create(const ucx::LaneOptions& options) {
  return create(load_ucx_module(), options);
}

std::string UcxLaneChannel::peer() const {
  return fmt::format("ucx {} lane '{}'", options_.kind == ucx::LaneKind::COMMAND ? "command" : "health",
                     options_.name);
}

void UcxLaneChannel::check_frame(const std::vector<uint8_t>& frame) const {
  // The whole-frame checks (WIRE-3 incl. the length) before anything is queued: a frame the codec
  // would reject throws wire::WireError and leaves the lane untouched.
  (void)wire::decode_frame(frame, options_.max_payload);
}

void UcxLaneChannel::post(std::vector<uint8_t> frame) {
  check_frame(frame);
  lane_->post(std::move(frame));
}

std::optional<InboundFrame> UcxLaneChannel::poll() {
  std::optional<std::vector<uint8_t>> bytes = lane_->poll();
  if (!bytes) return std::nullopt;
  InboundFrame frame;
  frame.header = wire::decode_frame_header(*bytes, options_.max_payload);
  frame.bytes = std::move(*bytes);
  return frame;
}

bool UcxLaneChannel::prepare_wait() {
  try {
    return lane_->prepare_wait();
  } catch (const TransportError&) {
    return false;  // the lane has failed: poll() reports it
  }
}

bool UcxLaneChannel::flush() {
  if (auto f = lane_->failure()) throw *f;
  return lane_->unsent() == 0;
}

void UcxLaneChannel::send(std::vector<uint8_t> frame, Deadline deadline) {
  check_frame(frame);
  const uint64_t ticket = lane_->post(std::move(frame));
  lane_->wait_sent(ticket, deadline);
}

InboundFrame UcxLaneChannel::receive(Deadline deadline) {
  std::optional<std::vector<uint8_t>> bytes = lane_->receive(deadline);
  if (!bytes) {
    const std::string text = fmt::format("{}: no frame arrived before the deadline", peer());
    lane_->fail(TransportErrc::TIMEOUT, text);
    if (auto f = lane_->failure()) throw *f;
    throw TransportError(TransportErrc::TIMEOUT, text);
  }
  InboundFrame frame;
  frame.header = wire::decode_frame_header(*bytes, options_.max_payload);
  frame.bytes = std::move(*bytes);
  return frame;
}

bool UcxLaneChannel::detects_peer_death() const noexcept {
  try {
    return lane_->detects_peer_failure();
  } catch (...) {
    return false;
  }
}

bool UcxLaneChannel::safe_rma_target() const noexcept {
  try {
    return lane_->offloads_rma() || !lane_->detects_peer_failure();
  } catch (...) {
    return false;
  }
}

const TransportError* UcxLaneChannel::failure() const noexcept {
  if (!failure_) {
    try {
      failure_ = lane_->failure();
    } catch (...) {
    }
  }
  return failure_ ? &*failure_ : nullptr;
}

}  // namespace echelon::transport
