// A lane (buffers.md 9.3): one UCP worker and one endpoint with peer error handling, driven by a
// progress thread that is the only thread touching them. The owner thread exchanges frames with it
// through queues under one mutex; an eventfd tells a reactor when inbound frames (or the failure)
// are ready. Inbound frames are checked in the AM receive callback (WIRE-3, and AM data length ==
// payload_bytes for WIRE-4) before anything is allocated, then ordered: the command lane by
// sequence with a bounded reorder buffer, the health lane by dropping stale HEALTHs (WIRE-22).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "transport/fd.h"
#include "transport/ucx/context.h"
#include "transport/ucx/endpoint.h"
#include "transport/ucx/quiet_wakes.h"

namespace echelon::transport::ucx {

class UcpLane final : public Lane {
 public:
  // Starts the progress thread, which creates the worker; returns once its address is known.
  UcpLane(std::shared_ptr<UcpContext> context, LaneOptions options);
  ~UcpLane() override;
  UcpLane(const UcpLane&) = delete;
  UcpLane& operator=(const UcpLane&) = delete;

  std::vector<uint8_t> address() const override { return address_; }
  void connect(std::span<const uint8_t> peer_address, Deadline deadline) override;
  bool connected() const override;
  bool detects_peer_failure() const override {
    std::lock_guard lock(mutex_);
    return detects_peer_failure_;
  }
  bool offloads_rma() const override {
    std::lock_guard lock(mutex_);
    return offloads_rma_;
  }
  uint64_t post(std::vector<uint8_t> frame) override;
  void wait_sent(uint64_t ticket, Deadline deadline) override;
  size_t unsent() const override;
  std::optional<std::vector<uint8_t>> poll() override;
  std::optional<std::vector<uint8_t>> receive(Deadline deadline) override;
  int wait_fd() const noexcept override { return options_.owner_driven ? wait_set_.get() : event_fd_.get(); }
  bool prepare_wait() override;
  std::optional<TransportError> failure() const override;
  void fail(TransportErrc code, const std::string& message) override;
  void close() noexcept override;
  void post_raw_for_test(uint16_t am_id, std::vector<uint8_t> header, std::vector<uint8_t> data) override;

 private:
  struct Outbound {
    uint64_t ticket;
    uint16_t am_id;
    std::vector<uint8_t> message;  // AM user header, then AM data
    size_t header_bytes;
  };

  void run();  // the progress thread
  std::shared_ptr<WorkerCore> make_worker();
  // Owner-driven lanes (no-ops with a progress thread). pump(): turns until UCX is quiet or a
  // frame is ready, without arming (post, poll). settle(): turns until quiet, keeps turning for a
  // short window after activity, and arms the worker (before a sleep on wait_fd()); a frame that
  // arrives in the window ends it unarmed when the caller `wants_frames` (it returns the frame).
  // sleep_until(): sleeps on wait_fd() until an event or the deadline (false once it has passed).
  void pump();
  void settle(bool wants_frames = true);
  bool sleep_until(Deadline deadline);
  // The lane's endpoint, with peer error handling when UCX_TLS allows it (`detects` says which).
  std::shared_ptr<EndpointCore> connect_endpoint(const std::shared_ptr<WorkerCore>& core,
                                                 std::span<const uint8_t> peer, bool& detects);
  void serve(const std::shared_ptr<WorkerCore>& core);
  // One round of the lane's work on the owning thread: the endpoint once asked for, queued sends,
  // progress, inbound frames, finished sends. True when anything happened.
  bool turn(const std::shared_ptr<WorkerCore>& core);
  void drop_endpoint() noexcept;
  // Progress thread, on stop: tells the peer this lane closes after `frames_sent_` frames.
  void send_close_notice(WorkerCore& core, UcpEndpoint& endpoint) noexcept;
  bool accept(std::span<const uint8_t> header, size_t data_bytes);  // the AM filter
  void deliver_locked(std::vector<uint8_t> frame);
  void fail_locked(TransportErrc code, const std::string& message);
  // The peer failed or closed: fails the lane once the frames already received are taken.
  void peer_gone_locked(const std::string& message);
  // Raises or lowers the frame signal (event_fd_). Owner-driven, ready frames raise it only for a
  // sleep (`for_sleep`): the owner takes a frame in the call that received it, so the signal would
  // cost two system calls per frame for nothing.
  void update_signal_locked(bool for_sleep = false);
  std::optional<std::vector<uint8_t>> take_ready_locked();
  [[noreturn]] void throw_unusable_locked() const;
  bool unusable_locked() const { return failure_.has_value() || closed_; }
  uint64_t queue_locked(uint16_t am_id, std::vector<uint8_t> message, size_t header_bytes);
  void wake() noexcept;
  std::string describe() const;

  const LaneOptions options_;
  const uint16_t send_id_;
  const uint16_t recv_id_;
  std::shared_ptr<UcpContext> context_;
  Fd event_fd_;
  Fd wait_set_;  // owner-driven: epoll set of the worker's event fd and event_fd_
  static constexpr int kTurnsPerRound = 1024;  // turns of one pump() or settle() round at most
  QuietWakes quiet_settles_{64};  // owner-driven: settle() calls in which UCX did nothing
  // Owner-driven: how long one settle() may turn before it hands the thread back to the owner.
  static constexpr auto kSettleBudget = std::chrono::milliseconds(2);
  bool overrun_ = false;  // (mutex_) settle() ran out of budget: wait_fd() stays readable
  uint64_t progress_rounds_ = 0;  // owning thread: turns in which the worker's progress did work
  // Owner-driven, owner thread: the worker was armed and UCX not called since, so prepare_wait()
  // has nothing to do (an event since then has made wait_fd() readable).
  bool armed_ = false;
  // Owner-driven, owner thread: a frame went out or came in since the worker was last armed.
  bool worked_since_arm_ = false;
  // Owner-driven, owner thread: a frame went out after the last one came in, so a reply may be on
  // its way; settle() turns for a short window before arming (once per frame sent).
  bool awaiting_reply_ = false;
  std::vector<uint8_t> address_;
  std::shared_ptr<WorkerCore> core_;  // set before the constructor returns; destroyed after join
  std::thread thread_;
  // The owning thread's (the progress thread's, or the owner's when owner-driven).
  std::shared_ptr<EndpointCore> ep_core_;
  std::unique_ptr<UcpEndpoint> endpoint_;
  std::vector<std::pair<uint64_t, std::unique_ptr<Operation>>> ops_;
  size_t seen_failed_pulls_ = 0;
  std::optional<std::string> filter_error_;  // progress thread only
  uint64_t frames_sent_ = 0;                  // progress thread only: AMs of frames handed to UCX
  uint64_t frames_received_ = 0;              // progress thread only: frames taken from the inbox
  std::optional<uint64_t> peer_closed_after_;  // progress thread only: the peer's close notice

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false;
  std::optional<TransportError> start_error_;
  bool stop_ = false;
  bool closed_ = false;
  std::optional<std::vector<uint8_t>> connect_request_;
  bool connect_done_ = false;
  bool connected_ = false;
  bool detects_peer_failure_ = false;
  bool offloads_rma_ = false;
  std::deque<Outbound> outbound_;
  std::set<uint64_t> pending_;  // posted tickets not yet locally complete
  uint64_t next_ticket_ = 1;
  std::deque<std::vector<uint8_t>> ready_;
  std::optional<TransportError> failure_;
  std::optional<std::string> peer_gone_;
  bool signalled_ = false;
  // Ordering (progress thread, under the mutex).
  uint64_t expected_;                               // command: next sequence to deliver
  std::map<uint64_t, std::vector<uint8_t>> held_;   // command: reorder buffer
  bool seen_health_ = false;                        // health: newest sequence seen, recent ones
  uint64_t newest_health_ = 0;
  std::set<uint64_t> recent_health_;
  size_t stale_dropped_ = 0;
};

}  // namespace echelon::transport::ucx
