// Engine lifecycle, lanes, controls and runs.
#include "runtime/engine.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "echelon/errors.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace echelon {
namespace {

std::atomic<uint64_t> g_next_remote_issuer{1};

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

Engine::Engine(int level, const WorkerOptions& options, CallableRegistry& registry)
    : level_(level),
      options_(options),
      remote_issuer_(g_next_remote_issuer.fetch_add(1)),
      registry_(registry),
      wake_region_(sizeof(WakeRegion), "scheduler wake region"),
      wake_((new (wake_region_.data()) WakeRegion())->signal),
      slots_(options.max_live_tasks) {
  // Heap rings are mapped now, before any child is forked, so children see them at the same
  // address (RT-306). MAP_NORESERVE: untouched pages cost nothing.
  for (auto& ring : heap_rings_) ring = std::make_unique<HeapRing>(options_.heap_ring_bytes);
}

Engine::~Engine() { stop(); }

uint32_t Engine::add_lane(std::unique_ptr<WorkerEndpoint> endpoint) {
  if (started_) throw UsageError("children must be added before init()");
  const uint32_t index = static_cast<uint32_t>(lanes_.size());
  if (index >= kMaxLanes) throw UsageError(fmt::format("a Worker takes at most {} children", kMaxLanes));
  lanes_.push_back(std::make_unique<EndpointLane>(index, std::move(endpoint),
                                                  wake_region_.as<WakeRegion>()->lane_flags[index], wake_));
  EndpointLane& lane = *lanes_.back();
  if (lane.is_sub()) {
    sub_lanes_.push_back(index);
  } else {
    const WorkerId id = lane.worker_id();
    if (id < 0) throw UsageError(fmt::format("a NEXT_LEVEL endpoint has negative worker id {}", id));
    if (static_cast<size_t>(id) >= lane_by_worker_.size()) lane_by_worker_.resize(id + 1, -1);
    if (lane_by_worker_[id] >= 0) throw UsageError(fmt::format("worker id {} is already taken", id));
    lane_by_worker_[id] = static_cast<int>(index);
    next_level_lanes_.push_back(index);
  }
  if (lane.caps().max_inflight == 0) throw UsageError("an endpoint must accept at least one task in flight");
  return index;
}

void Engine::launch(Deadline deadline) {
  launched_ = true;  // from here on stop() must release whatever was launched
  for (auto& lane : lanes_) lane->endpoint().launch(LaunchContext{&lane->doorbell(), deadline});
}

void Engine::await_ready(Deadline deadline) {
  for (auto& lane : lanes_) lane->endpoint().await_ready(deadline);
}

void Engine::start() {
  if (started_) return;
  reserved_.assign(lanes_.size(), false);
  for (auto& lane : lanes_) lane->endpoint().attach(lane.get());
  started_ = true;
  scheduler_ = std::thread([this] { scheduler_main(); });
  bool has_children = false;
  for (auto& lane : lanes_) has_children = has_children || lane->endpoint().liveness_fd() >= 0;
  if (has_children) {
    watcher_stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (watcher_stop_fd_ < 0) throw Error(fmt::format("eventfd for the child watcher failed: {}", std::strerror(errno)));
    watcher_ = std::thread([this] { watch_children(); });
  }
}

void Engine::watch_children() {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    spdlog::error("child watcher: epoll_create1 failed: {}", std::strerror(errno));
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = UINT64_MAX;
  epoll_ctl(ep, EPOLL_CTL_ADD, watcher_stop_fd_, &ev);
  for (auto& lane : lanes_) {
    const int fd = lane->endpoint().liveness_fd();
    if (fd < 0) continue;
    ev.data.u64 = lane->index();
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  while (true) {
    epoll_event events[16];
    const int n = epoll_wait(ep, events, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == UINT64_MAX) {
        stop = true;
        continue;
      }
      EndpointLane& lane = *lanes_[events[i].data.u64];
      epoll_ctl(ep, EPOLL_CTL_DEL, lane.endpoint().liveness_fd(), nullptr);  // a death fires once
      lane.wake();
    }
    if (stop) break;
  }
  close(ep);
}

void Engine::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    closing_ = true;
  }
  space_cv_.notify_all();
  run_cv_.notify_all();
  // A failed init rolls back at once; a normal close gives children close_grace to finish.
  const Deadline grace = Clock::now() + (started_ ? seconds(options_.close_grace_s) : Clock::duration::zero());
  if (!started_) {
    // Launched but never started (a failed init): release every child that was forked.
    if (launched_)
      for (auto& lane : lanes_) lane->endpoint().shutdown(grace);
    return;
  }
  stop_requested_.store(true, std::memory_order_release);
  for (auto& lane : lanes_) lane->endpoint().request_stop("the Worker is closing");
  wake_.notify();
  scheduler_.join();
  run_cv_.notify_all();
  for (auto& lane : lanes_) {
    try {
      lane->endpoint().shutdown(grace);
    } catch (const std::exception& e) {
      spdlog::error("worker {} (lane {}) shutdown failed: {}", lane->worker_id(), lane->index(), e.what());
    }
  }
  if (watcher_.joinable()) {
    const uint64_t one = 1;
    (void)!write(watcher_stop_fd_, &one, sizeof one);
    watcher_.join();
  }
  if (watcher_stop_fd_ >= 0) close(watcher_stop_fd_);
}

int Engine::lane_of(WorkerId id) const {
  if (id < 0 || static_cast<size_t>(id) >= lane_by_worker_.size()) return -1;
  return lane_by_worker_[id];
}

std::vector<uint32_t> Engine::lanes_with_role(EndpointRole role) const {
  return role == EndpointRole::SUB ? sub_lanes_ : next_level_lanes_;
}

ControlReply Engine::control(uint32_t index, const ControlRequest& request, Deadline deadline) {
  EndpointLane& lane = *lanes_.at(index);
  if (lane.failed()) {
    std::lock_guard lock(mu_);
    return ControlReply{false, {}, fmt::format("worker {} is FAILED: {}", lane.worker_id(), lane.failure_reason), false};
  }
  lane.controls_pending.fetch_add(1, std::memory_order_acq_rel);
  ControlReply reply = lane.endpoint().control(request, deadline);
  lane.controls_pending.fetch_sub(1, std::memory_order_acq_rel);
  lane.wake();  // the lane may be idle again, and a failed control may have failed the endpoint
  return reply;
}

Engine::LaneHold::LaneHold(Engine& engine, EndpointLane& lane) : engine_(engine), lane_(lane) {
  {
    // Under the engine lock the Scheduler is not between its capacity check and its claim, so
    // once the count is raised no new member is claimed for this lane.
    std::lock_guard lock(engine_.mu_);
    lane_.controls_pending.fetch_add(1, std::memory_order_acq_rel);
  }
  // A member claimed before that may still be on its way into submit(): let it land first.
  for (uint32_t n = lane_.handoffs_in_progress.load(std::memory_order_acquire); n != 0;
       n = lane_.handoffs_in_progress.load(std::memory_order_acquire))
    lane_.handoffs_in_progress.wait(n, std::memory_order_acquire);
}

Engine::LaneHold::~LaneHold() {
  lane_.controls_pending.fetch_sub(1, std::memory_order_acq_rel);
  lane_.wake();  // queued tasks may dispatch again
}

ControlReply Engine::LaneHold::control(const ControlRequest& request, Deadline deadline) {
  return engine_.control(lane_.index(), request, deadline);
}

void Engine::after_run_waited() noexcept {
  if (!run_waited_hook_) return;
  try {
    run_waited_hook_();
  } catch (const std::exception& e) {
    spdlog::error("after a run: {}", e.what());
  }
}

EndpointHealth Engine::health(uint32_t index) {
  EndpointLane& lane = *lanes_.at(index);
  if (lane.failed()) {
    std::lock_guard lock(mu_);
    return EndpointHealth{false, lane.failure_reason};
  }
  return lane.endpoint().health();
}

std::shared_ptr<RunState> Engine::open_run() {
  std::unique_lock lock(mu_);
  const auto deadline = Clock::now() + seconds(options_.admission_timeout_s);
  auto open_count = [&] {
    return std::count_if(runs_.begin(), runs_.end(), [](const auto& r) { return !r->terminal; });
  };
  while (!closing_ && open_count() >= static_cast<long>(options_.admission_depth)) {
    if (run_cv_.wait_until(lock, deadline) == std::cv_status::timeout && open_count() >= options_.admission_depth)
      throw TimeoutError(fmt::format("admission: {} runs still open after admission_timeout_s={} (admission_depth={})",
                                     open_count(), options_.admission_timeout_s, options_.admission_depth));
  }
  if (closing_) throw UsageError("submit: the Worker is closed");
  auto run = std::make_shared<RunState>();
  run->id = next_run_id_++;
  run->directed.resize(lanes_.size());
  run->scopes.emplace_back();  // the run's outer scope (depth 0)
  runs_.push_back(run);
  return run;
}

void Engine::close_run(RunState& run, std::exception_ptr fn_error) {
  {
    std::lock_guard lock(mu_);
    if (fn_error) {
      run.fn_error = fn_error;
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(fn_error);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      if (!run.failed) {
        run.failed = true;
        run.root_error = fmt::format("the orchestration function of run {} threw: {}", run.id, what);
      }
      run.cancelled = true;
      cancel_unstarted(run);
    }
    while (!run.scopes.empty()) {
      std::vector<uint32_t> frame = std::move(run.scopes.back());
      run.scopes.pop_back();
      for (uint32_t idx : frame) release_ref(slots_.at(idx));
    }
    run.submission_closed = true;
    check_run_terminal(run);
  }
  wake_.notify();
}

bool Engine::run_terminal(const RunState& run) {
  std::lock_guard lock(mu_);
  return run.terminal;
}

void Engine::wait_run(const std::shared_ptr<RunState>& run, std::optional<double> timeout_s) {
  std::unique_lock lock(mu_);
  if (timeout_s) {
    if (!run_cv_.wait_for(lock, seconds(*timeout_s), [&] { return run->terminal; }))
      throw TimeoutError(fmt::format("run {} not finished after {} s ({} tasks live)", run->id, *timeout_s, run->live));
  } else {
    run_cv_.wait(lock, [&] { return run->terminal; });
  }
  // The run's slots are consumed: frees they were holding up can go out now (buffers.md 6).
  lock.unlock();
  after_run_waited();
  lock.lock();
  run->waited = true;
  if (run->fn_error) std::rethrow_exception(run->fn_error);
  if (run->failed) throw RunError(run->root_error);
}

void Engine::drain(std::optional<double> timeout_s) {
  std::vector<std::shared_ptr<RunState>> open;
  {
    std::lock_guard lock(mu_);
    // Runs that already failed and finished come first: their errors are older.
    open.assign(failed_unwaited_.begin(), failed_unwaited_.end());
    failed_unwaited_.clear();
    open.insert(open.end(), runs_.begin(), runs_.end());
  }
  const auto deadline = timeout_s ? std::optional(Clock::now() + seconds(*timeout_s)) : std::nullopt;
  std::exception_ptr first;
  for (auto& run : open) {
    try {
      std::optional<double> left;
      if (deadline) left = std::max(0.0, std::chrono::duration<double>(*deadline - Clock::now()).count());
      wait_run(run, left);
    } catch (const TimeoutError&) {
      throw;
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

EngineCounters Engine::counters() {
  std::lock_guard lock(mu_);
  EngineCounters c = counters_;
  c.live_slots = slots_.in_use();
  return c;
}

}  // namespace echelon
