// The runner side of the health lane (protocol.md 10, 12): its own thread sends a header-only
// HEALTH (sequence 1, 2, ...) every interval, whatever the command lane is doing. It owns its
// channel outright and never touches the command lane, so a long TASK cannot delay it. Each send
// is bounded by the health expiry: a parent that stopped reading (or vanished) fails the lane,
// and the command loop then ends the session (RT-906 orphan guard, RT-907).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include "transport/frame_channel.h"

namespace echelon::session {

struct HealthSchedule {
  uint64_t session_id = 0;
  int32_t worker_id = 0;
  std::chrono::nanoseconds interval{};
  std::chrono::nanoseconds send_timeout{};  // the health expiry
  uint64_t first_sequence = 1;
};

class HealthLane {
 public:
  HealthLane(std::unique_ptr<transport::FrameChannel> channel, HealthSchedule schedule);
  ~HealthLane();  // stops and joins
  HealthLane(const HealthLane&) = delete;
  HealthLane& operator=(const HealthLane&) = delete;

  void start();
  // Idempotent; returns once the thread has exited and the lane is closed.
  void stop();
  // Sticky: a send failed; failure() says why.
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string failure() const;
  uint64_t frames_sent() const { return sent_.load(std::memory_order_relaxed); }

 private:
  void loop();
  void send_one(uint64_t sequence);

  std::unique_ptr<transport::FrameChannel> channel_;
  HealthSchedule schedule_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string failure_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> sent_{0};
};

}  // namespace echelon::session
