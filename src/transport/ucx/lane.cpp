#include "transport/ucx/lane.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "transport/ucx/request.h"
#include "wire/frame_header.h"

namespace echelon::transport::ucx {

namespace {

constexpr size_t kRecentHealth = 1024;  // sequences remembered to tell a repeat from a stale one

uint16_t send_id_for(const LaneOptions& o) {
  if (o.kind == LaneKind::HEALTH) return kAmHealth;
  return o.side == LaneSide::PARENT ? kAmCommandToRunner : kAmCommandToParent;
}
uint16_t recv_id_for(const LaneOptions& o) {
  if (o.kind == LaneKind::HEALTH) return kAmHealth;
  return o.side == LaneSide::PARENT ? kAmCommandToParent : kAmCommandToRunner;
}

}  // namespace

UcpLane::UcpLane(std::shared_ptr<UcpContext> context, LaneOptions options)
    : options_(std::move(options)),
      send_id_(send_id_for(options_)),
      recv_id_(recv_id_for(options_)),
      context_(std::move(context)),
      expected_(options_.first_sequence) {
  event_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!event_fd_) throw_errno(fmt::format("eventfd for ucx lane '{}'", options_.name), errno);
  if (options_.owner_driven) {
    // No thread: the worker is the owner's from here on. wait_fd() is an epoll set of the worker's
    // event fd and the frame signal, level-triggered.
    core_ = make_worker();
    wait_set_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!wait_set_) throw_errno(fmt::format("epoll set for ucx lane '{}'", options_.name), errno);
    for (int fd : {core_->event_fd(), event_fd_.get()}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (::epoll_ctl(wait_set_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
        throw_errno(fmt::format("epoll_ctl for ucx lane '{}'", options_.name), errno);
    }
    started_ = true;
    return;
  }
  thread_ = std::thread([this] { run(); });
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return started_; });
  if (start_error_) {
    const TransportError error = *start_error_;
    lock.unlock();
    thread_.join();
    throw error;
  }
}

UcpLane::~UcpLane() { close(); }

std::shared_ptr<EndpointCore> UcpLane::connect_endpoint(const std::shared_ptr<WorkerCore>& core,
                                                       std::span<const uint8_t> peer, bool& detects) {
  return EndpointCore::create_preferring_peer_errors(
      core, peer,
      [this](const std::string& reason) {
        std::lock_guard lock(mutex_);
        peer_gone_locked(fmt::format("{}: peer failed: {}", describe(), reason));
        cv_.notify_all();
      },
      detects);
}

std::string UcpLane::describe() const {
  return fmt::format("ucx {} lane '{}'", options_.kind == LaneKind::COMMAND ? "command" : "health", options_.name);
}

void UcpLane::wake() noexcept {
  // Only a progress thread sleeps on the worker's wake fd; an owner-driven lane is progressed by
  // the caller itself, so the write would be a wasted syscall on every post.
  if (core_ && !options_.owner_driven) core_->wake();
}

// ---- progress thread --------------------------------------------------------------------------

std::shared_ptr<WorkerCore> UcpLane::make_worker() {
  std::shared_ptr<WorkerCore> core = WorkerCore::create(context_, options_.name);
  core->inbox().listen(
      recv_id_, [this](std::span<const uint8_t> header, size_t data_bytes) { return accept(header, data_bytes); },
      /*frame_layout=*/true);
  core->inbox().listen(kAmLaneClosed, [](std::span<const uint8_t> header, size_t data_bytes) {
    return header.size() == sizeof(uint64_t) && data_bytes == 0;
  });
  UcpWorker view(core);
  address_ = view.address();
  return core;
}

void UcpLane::run() {
  std::shared_ptr<WorkerCore> core;
  try {
    core = make_worker();
  } catch (const TransportError& e) {
    std::lock_guard lock(mutex_);
    start_error_ = e;
    started_ = true;
    cv_.notify_all();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    core_ = core;
    started_ = true;
  }
  cv_.notify_all();
  try {
    serve(core);
  } catch (const TransportError& e) {
    std::lock_guard lock(mutex_);
    fail_locked(e.code(), e.what());
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    fail_locked(TransportErrc::IO_ERROR, fmt::format("{}: progress thread: {}", describe(), e.what()));
  }
  cv_.notify_all();
}

void UcpLane::drop_endpoint() noexcept {
  // On the owning thread: closing progresses the worker.
  ops_.clear();
  endpoint_.reset();
  ep_core_.reset();
}

void UcpLane::serve(const std::shared_ptr<WorkerCore>& core_ptr) {
  WorkerCore& core = *core_ptr;
  try {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (stop_) {
          lock.unlock();
          if (endpoint_) send_close_notice(core, *endpoint_);
          drop_endpoint();
          return;
        }
      }
      if (turn(core_ptr)) continue;
      {
        std::lock_guard lock(mutex_);
        if (stop_ || connect_request_ || (endpoint_ && !failure_ && !outbound_.empty())) continue;
      }
      core.wait(Clock::now() + std::chrono::hours(1));
    }
  } catch (...) {
    drop_endpoint();
    throw;
  }
}

bool UcpLane::turn(const std::shared_ptr<WorkerCore>& core_ptr) {
  WorkerCore& core = *core_ptr;
  armed_ = false;  // any call into UCX may take the event the armed worker would have signalled
  std::optional<std::vector<uint8_t>> connect_to;
  std::deque<Outbound> sends;
  bool failed;
  {
    std::lock_guard lock(mutex_);
    connect_to = std::exchange(connect_request_, std::nullopt);
    failed = failure_.has_value();
  }
  bool any = false;
  if (connect_to && !failed) {
    any = true;
    try {
      bool detects = false;
      ep_core_ = connect_endpoint(core_ptr, *connect_to, detects);
      endpoint_ = std::make_unique<UcpEndpoint>(ep_core_);
      const bool offloads = ep_core_->offloads_rma();
      std::lock_guard lock(mutex_);
      connected_ = true;
      detects_peer_failure_ = detects;
      offloads_rma_ = offloads;
      connect_done_ = true;
    } catch (const TransportError& e) {
      std::lock_guard lock(mutex_);
      connect_done_ = true;
      fail_locked(e.code(), fmt::format("{}: {}", describe(), e.what()));
    }
    cv_.notify_all();
  }
  {
    std::lock_guard lock(mutex_);
    if (endpoint_ && !failure_) sends.swap(outbound_);
  }
  for (auto& s : sends) {
    any = true;
    worked_since_arm_ = true;
    awaiting_reply_ = true;
    try {
      ops_.emplace_back(s.ticket, endpoint_->send_am_split(s.am_id, std::move(s.message), s.header_bytes));
      ++frames_sent_;
    } catch (const TransportError& e) {
      std::lock_guard lock(mutex_);
      fail_locked(e.code(), fmt::format("{}: {}", describe(), e.what()));
      break;
    }
  }

  if (core.progress()) {
    any = true;
    ++progress_rounds_;
  }

  std::vector<std::vector<uint8_t>> inbound;
  while (auto m = core.inbox().next()) {
    if (m->am_id == kAmLaneClosed) {
      peer_closed_after_ = 0;
      for (size_t i = 0; i < sizeof(uint64_t); ++i) *peer_closed_after_ |= uint64_t{m->header[i]} << (8 * i);
      continue;
    }
    inbound.push_back(std::move(m->data));
  }
  frames_received_ += inbound.size();
  if (!inbound.empty()) {
    worked_since_arm_ = true;
    awaiting_reply_ = false;
  }
  // Once: the notice is acted on when the last frame sent before it is in.
  const bool peer_closed = peer_closed_after_ && frames_received_ >= *peer_closed_after_;
  if (peer_closed) peer_closed_after_.reset();
  std::vector<uint64_t> finished;
  std::optional<TransportError> op_error;
  for (auto it = ops_.begin(); it != ops_.end();) {
    if (!it->second->done()) {
      ++it;
      continue;
    }
    try {
      it->second->wait(Clock::now());
    } catch (const TransportError& e) {
      if (!op_error) op_error = e;
    }
    finished.push_back(it->first);
    it = ops_.erase(it);
  }
  if (!inbound.empty() || !finished.empty() || op_error || filter_error_ || peer_closed ||
      core.inbox().failed_pulls() != seen_failed_pulls_) {
    any = true;
    std::lock_guard lock(mutex_);
    for (auto& frame : inbound) {
      if (failure_) break;
      deliver_locked(std::move(frame));
    }
    for (uint64_t t : finished) pending_.erase(t);
    if (op_error) fail_locked(op_error->code(), fmt::format("{}: {}", describe(), op_error->what()));
    if (filter_error_) fail_locked(TransportErrc::MALFORMED_FRAME, *filter_error_);
    if (peer_closed) peer_gone_locked(fmt::format("{}: the peer closed the lane", describe()));
    if (core.inbox().failed_pulls() != seen_failed_pulls_) {
      seen_failed_pulls_ = core.inbox().failed_pulls();
      fail_locked(TransportErrc::IO_ERROR, fmt::format("{}: receiving a rendezvous frame payload failed", describe()));
    }
    update_signal_locked();
    cv_.notify_all();
  }
  return any;
}

void UcpLane::send_close_notice(WorkerCore& core, UcpEndpoint& endpoint) noexcept {
  // Best effort and briefly bounded: a peer that is gone or stuck must not hold up the close.
  constexpr auto kBound = std::chrono::milliseconds(500);
  try {
    // Command lanes only: each side watches its peer's command lane for the end (the runner's
    // health lane is never read, and the parent's endpoint fails on either lane), so a health
    // notice would only cost a flush the peer may not be progressing.
    if (options_.kind != LaneKind::COMMAND || !endpoint.failure().empty()) return;
    {
      std::lock_guard lock(mutex_);
      if (peer_gone_) return;  // the peer closed or died first: nobody to tell
    }
    std::vector<uint8_t> header(sizeof(uint64_t));
    for (size_t i = 0; i < header.size(); ++i) header[i] = static_cast<uint8_t>(frames_sent_ >> (8 * i));
    const auto end = Clock::now() + kBound;
    auto settle = [&](const std::unique_ptr<Operation>& op) {
      while (!op->done() && Clock::now() < end)
        if (!core.progress()) core.wait(end);
    };
    // Locally complete is not delivered (UCX may still hold the bytes), and the endpoint is force-
    // closed next: the flush after the notice completes it and every earlier frame remotely.
    settle(endpoint.send_am(kAmLaneClosed, std::move(header), {}));
    settle(endpoint.flush());
  } catch (const std::exception&) {
    // The peer learns of the close from its own deadlines instead.
  }
}

bool UcpLane::accept(std::span<const uint8_t> header, size_t data_bytes) {
  if (filter_error_) return false;
  try {
    if (header.size() != wire::FRAME_HEADER_BYTES) {
      filter_error_ = fmt::format("{}: malformed frame: AM user header of {} bytes, an SLR3 frame header has {}",
                                  describe(), header.size(), wire::FRAME_HEADER_BYTES);
      return false;
    }
    const wire::FrameHeader h = wire::decode_frame_header(header, options_.max_payload);
    if (h.payload_bytes != data_bytes) {
      filter_error_ = fmt::format(
          "{}: malformed frame: {} sequence {} announces payload_bytes {} but its AM data has {} bytes (WIRE-4)",
          describe(), wire::to_string(h.type), h.sequence, h.payload_bytes, data_bytes);
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    filter_error_ = fmt::format("{}: malformed frame header (WIRE-3): {}", describe(), e.what());
    return false;
  }
}

void UcpLane::deliver_locked(std::vector<uint8_t> frame) {
  const wire::FrameHeader h = wire::decode_frame_header(frame, options_.max_payload);
  const uint64_t seq = h.sequence;
  if (options_.kind == LaneKind::HEALTH) {
    if (recent_health_.count(seq) != 0) {
      fail_locked(TransportErrc::MALFORMED_FRAME,
                  fmt::format("{}: repeated health sequence {} (newest seen {}; WIRE-22)", describe(), seq,
                              newest_health_));
      return;
    }
    recent_health_.insert(seq);
    if (recent_health_.size() > kRecentHealth) recent_health_.erase(recent_health_.begin());
    if (seen_health_ && seq < newest_health_) {
      ++stale_dropped_;  // overtaken by a newer one (UCX does not order AMs)
      return;
    }
    seen_health_ = true;
    newest_health_ = seq;
    ready_.push_back(std::move(frame));
    return;
  }
  if (seq < expected_ || held_.count(seq) != 0) {
    fail_locked(TransportErrc::MALFORMED_FRAME,
                fmt::format("{}: duplicate {} sequence {} (next expected {})", describe(), wire::to_string(h.type),
                            seq, expected_));
    return;
  }
  if (seq - expected_ >= options_.reorder_window) {
    fail_locked(TransportErrc::MALFORMED_FRAME,
                fmt::format("{}: sequence gap: {} sequence {} arrived while {} is expected (reorder window {})",
                            describe(), wire::to_string(h.type), seq, expected_, options_.reorder_window));
    return;
  }
  held_.emplace(seq, std::move(frame));
  for (auto it = held_.find(expected_); it != held_.end(); it = held_.find(expected_)) {
    ready_.push_back(std::move(it->second));
    held_.erase(it);
    ++expected_;
  }
}

void UcpLane::fail_locked(TransportErrc code, const std::string& message) {
  if (failure_) return;
  failure_.emplace(code, message);
  update_signal_locked();
}

void UcpLane::peer_gone_locked(const std::string& message) {
  // Like end-of-stream on a socket: frames that arrived whole before it are still read, then the
  // lane fails.
  if (!peer_gone_) peer_gone_ = message;
  if (ready_.empty()) fail_locked(TransportErrc::PEER_CLOSED, *peer_gone_);
}

void UcpLane::update_signal_locked(bool for_sleep) {
  const bool want =
      (!ready_.empty() && (for_sleep || !options_.owner_driven)) || failure_.has_value() || overrun_;
  if (want && !signalled_) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(event_fd_.get(), &one, sizeof(one));
    signalled_ = true;
  } else if (!want && signalled_) {
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(event_fd_.get(), &count, sizeof(count));
    signalled_ = false;
  }
}

// ---- owner thread -----------------------------------------------------------------------------

void UcpLane::throw_unusable_locked() const {
  if (failure_) throw *failure_;
  throw TransportError(TransportErrc::CLOSED, fmt::format("{} is closed", describe()));
}

void UcpLane::pump() {
  if (!options_.owner_driven || !core_) return;
  const auto budget_end = Clock::now() + kSettleBudget;
  // Another turn only while UCX finds work: each progress call is a system call on some
  // transports (tcp), and a send that UCX completed at once needs none.
  for (int i = 0; i < kTurnsPerRound; ++i) {
    const uint64_t progress_before = progress_rounds_;
    (void)turn(core_);
    if (progress_rounds_ == progress_before) return;
    std::lock_guard lock(mutex_);
    // A frame goes back to the caller at once; the budget keeps a turn that never gets quiet from
    // holding the owner (prepare_wait() then reports the overrun).
    if (!ready_.empty() || unusable_locked() || Clock::now() >= budget_end) return;
  }
}

void UcpLane::settle(bool wants_frames) {
  if (!options_.owner_driven || !core_) return;
  constexpr int kBusyRetries = 256;
  constexpr auto kPollWindow = std::chrono::microseconds(50);
  int busy_rounds = 0;
  const auto activity = [&] {
    std::lock_guard lock(mutex_);
    return std::tuple(frames_sent_, frames_received_, pending_.size(), ready_.size(), connect_done_);
  };
  const auto before = activity();
  // A turn that never gets quiet (UCX retrying a reply to a peer that died over shared memory,
  // where nothing reports the death) must not keep the owner from its own deadlines: past the
  // budget, settle returns with wait_fd() kept readable, so the owner is back at once.
  const auto budget_end = Clock::now() + kSettleBudget;
  {
    std::lock_guard lock(mutex_);
    if (overrun_) {
      overrun_ = false;
      update_signal_locked();
    }
  }
  // Until UCX has nothing left and the worker is armed, so that wait_fd() wakes the owner on the
  // next event (the frame signal covers frames already taken out of UCX).
  for (;;) {
    if (Clock::now() >= budget_end) {
      std::lock_guard lock(mutex_);
      overrun_ = true;
      update_signal_locked();
      return;
    }
    const uint64_t progress_before = progress_rounds_;
    for (int i = 0; i < kTurnsPerRound && turn(core_); ++i) {
    }
    const bool progressed = progress_rounds_ != progress_before;  // UCX did work (RMA served, say)
    const bool active = activity() != before || worked_since_arm_;
    if (active || progressed) {
      quiet_settles_.worked();
    } else {
      quiet_settles_.quiet();
    }
    if (awaiting_reply_) {
      // A frame just went out: keep turning for a short window before arming, yielding the core
      // between turns. The reply often lands within it, which saves a sleep and a wake-up on each
      // side (and the peer the signal that wakes this process). Once per frame sent: a reply that
      // takes longer is waited for asleep.
      awaiting_reply_ = false;
      const auto until = Clock::now() + kPollWindow;
      while (Clock::now() < until) {
        (void)turn(core_);
        {
          std::lock_guard lock(mutex_);
          if ((wants_frames && !ready_.empty()) || unusable_locked()) return;  // the caller takes it
        }
        std::this_thread::yield();
      }
    }
    {
      std::lock_guard lock(mutex_);
      if (unusable_locked()) return;  // nothing more to wait for
    }
    if (core_->arm()) {
      armed_ = true;
      worked_since_arm_ = false;
      return;
    }
    // Busy although progress found nothing: events UCX has not made progressable yet (shared
    // memory reports a message being written; the async thread has a closing connection to
    // dispatch), or only the wake-up signal that arming has just drained (then the next round
    // arms). Such a state is brief, so retry a bounded number of times, yielding the core from the
    // second try; past that, wait on the event fd (up to a millisecond) between tries.
    if (++busy_rounds <= kBusyRetries) {
      if (busy_rounds > 1) std::this_thread::yield();
      continue;
    }
    pollfd p{core_->event_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 1);
  }
}

bool UcpLane::prepare_wait() {
  if (options_.owner_driven && !armed_) settle();
  std::lock_guard lock(mutex_);
  if (options_.owner_driven) update_signal_locked(/*for_sleep=*/true);
  return ready_.empty() && !unusable_locked() && !overrun_;
}

bool UcpLane::sleep_until(Deadline deadline) {
  epoll_event ev{};
  const int n = ::epoll_wait(wait_set_.get(), &ev, 1, poll_timeout_ms(deadline));
  if (n < 0 && errno != EINTR) throw_errno(fmt::format("epoll_wait for ucx lane '{}'", options_.name), errno);
  return Clock::now() < deadline;
}

void UcpLane::connect(std::span<const uint8_t> peer_address, Deadline deadline) {
  std::unique_lock lock(mutex_);
  if (unusable_locked()) throw_unusable_locked();
  if (connect_request_ || connect_done_) {
    throw TransportError(TransportErrc::CONNECT_FAILED, fmt::format("{} is already connected", describe()));
  }
  connect_request_.emplace(peer_address.begin(), peer_address.end());
  if (options_.owner_driven) {
    lock.unlock();
    settle();  // creates the endpoint and sends what was posted before
    lock.lock();
  }
  wake();
  if (!cv_.wait_until(lock, deadline, [&] { return connect_done_ || unusable_locked(); })) {
    fail_locked(TransportErrc::TIMEOUT, fmt::format("{}: connecting did not finish before its deadline", describe()));
    cv_.notify_all();
  }
  if (unusable_locked()) throw_unusable_locked();
}

bool UcpLane::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

uint64_t UcpLane::queue_locked(uint16_t am_id, std::vector<uint8_t> message, size_t header_bytes) {
  if (unusable_locked()) throw_unusable_locked();
  const uint64_t ticket = next_ticket_++;
  outbound_.push_back({ticket, am_id, std::move(message), header_bytes});
  pending_.insert(ticket);
  return ticket;
}

uint64_t UcpLane::post(std::vector<uint8_t> frame) {
  if (frame.size() < wire::FRAME_HEADER_BYTES) {
    throw TransportError(TransportErrc::MALFORMED_FRAME, fmt::format("{}: a {}-byte frame has no header", describe(),
                                                                     frame.size()));
  }
  uint64_t ticket;
  {
    std::lock_guard lock(mutex_);
    // One buffer: the frame header is the AM user header, the payload the AM data.
    ticket = queue_locked(send_id_, std::move(frame), wire::FRAME_HEADER_BYTES);
  }
  wake();
  pump();
  return ticket;
}

void UcpLane::post_raw_for_test(uint16_t am_id, std::vector<uint8_t> header, std::vector<uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    const size_t header_bytes = header.size();
    header.insert(header.end(), data.begin(), data.end());
    queue_locked(am_id, std::move(header), header_bytes);
  }
  wake();
  pump();
}

void UcpLane::wait_sent(uint64_t ticket, Deadline deadline) {
  auto sent = [&] { return pending_.empty() || *pending_.begin() > ticket; };
  if (options_.owner_driven) {
    // Small frames are usually complete once handed to UCX (by post()): then no call into UCX at
    // all, and neither arming nor a sleep.
    for (bool first = true;; first = false) {
      {
        std::lock_guard lock(mutex_);
        if (sent() || unusable_locked()) break;
      }
      if (first) {
        pump();
        continue;
      }
      settle(/*wants_frames=*/false);  // arms even with a frame in: this waits for the send
      {
        std::lock_guard lock(mutex_);
        if (sent() || unusable_locked()) break;
      }
      if (!sleep_until(deadline)) break;
    }
  }
  std::unique_lock lock(mutex_);
  if (!cv_.wait_until(lock, deadline, [&] { return sent() || unusable_locked(); })) {
    fail_locked(TransportErrc::TIMEOUT,
                fmt::format("{}: sending a frame did not complete before its deadline{}", describe(),
                            connected_ ? "" : " (the lane was never connected)"));
    cv_.notify_all();
  }
  // A frame sent before the lane failed was sent: the failure surfaces at the next call.
  if (sent() && !closed_) return;
  if (unusable_locked()) throw_unusable_locked();
}

size_t UcpLane::unsent() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

// The next in-order frame, if any; a failed or closed lane throws instead (mutex_ held).
std::optional<std::vector<uint8_t>> UcpLane::take_ready_locked() {
  if (unusable_locked()) throw_unusable_locked();
  if (ready_.empty()) return std::nullopt;
  std::vector<uint8_t> frame = std::move(ready_.front());
  ready_.pop_front();
  if (ready_.empty() && peer_gone_) fail_locked(TransportErrc::PEER_CLOSED, *peer_gone_);
  update_signal_locked();
  return frame;
}

std::optional<std::vector<uint8_t>> UcpLane::poll() {
  pump();
  std::lock_guard lock(mutex_);
  return take_ready_locked();
}

std::optional<std::vector<uint8_t>> UcpLane::receive(Deadline deadline) {
  if (options_.owner_driven) {
    for (;;) {
      settle();
      {
        std::lock_guard lock(mutex_);
        if (!ready_.empty() || unusable_locked()) return take_ready_locked();
      }
      if (!sleep_until(deadline)) break;
    }
  }
  std::unique_lock lock(mutex_);
  cv_.wait_until(lock, deadline, [&] { return !ready_.empty() || unusable_locked(); });
  return take_ready_locked();
}

std::optional<TransportError> UcpLane::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

void UcpLane::fail(TransportErrc code, const std::string& message) {
  std::lock_guard lock(mutex_);
  fail_locked(code, message);
  cv_.notify_all();
}

void UcpLane::close() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    stop_ = true;
    cv_.notify_all();
  }
  wake();
  if (thread_.joinable()) thread_.join();
  if (options_.owner_driven && core_) {
    // The owner is the worker's thread: it says goodbye and closes the endpoint itself.
    if (endpoint_) send_close_notice(*core_, *endpoint_);
    drop_endpoint();
  }
  core_.reset();  // the worker goes with the last reference, after the thread is gone
}

std::unique_ptr<Lane> UcpContext::create_lane(const LaneOptions& options) {
  return std::make_unique<UcpLane>(shared_from_this(), options);
}

}  // namespace echelon::transport::ucx
