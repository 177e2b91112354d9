#include "session/health_lane.h"

#include "wire/frame_header.h"

namespace echelon::session {

HealthLane::HealthLane(std::unique_ptr<transport::FrameChannel> channel, HealthSchedule schedule)
    : channel_(std::move(channel)), schedule_(schedule) {}

HealthLane::~HealthLane() { stop(); }

void HealthLane::start() { thread_ = std::thread([this] { loop(); }); }

void HealthLane::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (channel_) channel_->close();
}

std::string HealthLane::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

void HealthLane::send_one(uint64_t sequence) {
  const wire::FrameRoute route{schedule_.session_id, schedule_.worker_id, sequence, 0};
  channel_->send(wire::encode_frame(wire::FrameType::HEALTH, route, {}),
                 transport::Clock::now() + schedule_.send_timeout);
  sent_.fetch_add(1, std::memory_order_relaxed);
}

void HealthLane::loop() {
  uint64_t sequence = schedule_.first_sequence;
  // The first numbered HEALTH goes out at once: the parent makes the endpoint schedulable on it.
  auto next = transport::Clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
    lock.unlock();
    try {
      send_one(sequence++);
    } catch (const std::exception& e) {
      lock.lock();
      failure_ = e.what();
      failed_.store(true, std::memory_order_release);
      break;
    }
    next += schedule_.interval;
    // After a stall (a slow send), keep the cadence from now rather than sending a burst.
    if (next < transport::Clock::now()) next = transport::Clock::now() + schedule_.interval;
    lock.lock();
  }
}

}  // namespace echelon::session
