#include "endpoint/inprocess_endpoint.h"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "core/spin_wait.h"
#include "endpoint/entry_table.h"
#include "echelon/errors.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace echelon {
namespace {

constexpr size_t kMaxMessageBytes = 4096;

}  // namespace

struct InProcessEndpoint::State {
  struct ControlTicket {
    ControlRequest request;
    ControlReply reply;
    enum { QUEUED, RUNNING, DONE } phase = QUEUED;
  };
  // A task owns copies of everything it reads: the slot it came from may be recycled first.
  struct Item {
    uint64_t dispatch_id = 0;
    Digest digest{};
    CallConfig config;
    TaskArgs args;
    std::shared_ptr<ControlTicket> control;  // set for a control
  };

  Executor executor;
  Waker* waker = nullptr;

  std::mutex mu;
  std::condition_variable inbox_cv;    // the thread waits for work
  std::condition_variable control_cv;  // control callers wait for replies
  std::condition_variable exit_cv;
  std::deque<Item> inbox;
  std::atomic<uint32_t> inbox_size{0};
  bool sleeping = false;
  std::vector<EndpointEvent> done;
  std::vector<uint64_t> reported_early;  // dispatches failed by a stop before they finished
  bool stopped = false;
  std::string stop_reason;
  bool exited = false;
  std::thread thread;  // joined by shutdown once it exited; detached if it never does
  uint64_t running_dispatch = 0;  // 0 = none

  // Touched by the thread only.
  std::unique_ptr<EntryTable> entries;

  void post(EndpointEvent ev) {
    {
      std::lock_guard lock(mu);
      if (!stopped) {
        done.push_back(std::move(ev));
      } else {
        // Reported already as ENDPOINT_FAILURE when the stop happened.
        std::erase(reported_early, ev.dispatch_id);
        return;
      }
    }
    waker->wake();
  }

  void run_task(const Item& task) {
    EndpointEvent ev{task.dispatch_id, Outcome::SUCCESS, {}};
    const LocalEntry* entry = entries->find(task.digest);
    if (!entry) {
      ev.outcome = Outcome::TASK_FAILURE;
      ev.message = fmt::format("callable {} is not installed on this child", to_hashid(task.digest));
    } else {
      try {
        executor(*entry, task.args, task.config);
      } catch (const std::exception& e) {
        ev.outcome = Outcome::TASK_FAILURE;
        ev.message = truncate_utf8(e.what(), kMaxMessageBytes);
      } catch (...) {
        ev.outcome = Outcome::TASK_FAILURE;
        ev.message = "callable threw a non-standard exception";
      }
    }
    post(std::move(ev));
  }

  void thread_main() {
    while (true) {
      spin_then_yield([&] { return inbox_size.load(std::memory_order_acquire) != 0; });
      Item item;
      {
        std::unique_lock lock(mu);
        sleeping = true;
        inbox_cv.wait(lock, [&] { return !inbox.empty() || stopped; });
        sleeping = false;
        if (stopped && inbox.empty()) break;
        item = std::move(inbox.front());
        inbox.pop_front();
        inbox_size.fetch_sub(1, std::memory_order_release);
        if (item.control) item.control->phase = ControlTicket::RUNNING;
        else running_dispatch = item.dispatch_id;
      }
      if (item.control) {
        ControlReply reply = entries->handle(item.control->request.name, item.control->request.payload);
        {
          std::lock_guard lock(mu);
          item.control->reply = std::move(reply);
          item.control->phase = ControlTicket::DONE;
        }
        control_cv.notify_all();
      } else {
        run_task(item);
        std::lock_guard lock(mu);
        running_dispatch = 0;
      }
    }
    std::lock_guard lock(mu);
    exited = true;
    exit_cv.notify_all();
  }
};

EndpointCaps InProcessEndpoint::default_caps(EndpointRole role, WorkerId id, int level, uint32_t max_inflight) {
  EndpointCaps c;
  c.kind = EndpointKind::IN_PROCESS;
  c.role = role;
  c.worker_id = role == EndpointRole::SUB ? kNoWorker : id;
  c.level = level;
  c.callable_kinds = {CallableKind::NATIVE_INPROC, CallableKind::NATIVE_IMPORT};
  c.scopes = {TargetNamespace::LOCAL_NATIVE};
  c.address_spaces = {AddressSpace::HOST};
  c.backing_kinds = {BackendKind::FORK_SHM, BackendKind::POSIX_SHM, BackendKind::FORK_COW};
  c.max_inflight = max_inflight;
  return c;
}

InProcessEndpoint::InProcessEndpoint(EndpointCaps caps, Executor executor)
    : caps_(std::move(caps)), state_(std::make_shared<State>()) {
  state_->entries = std::make_unique<EntryTable>(caps_.role == EndpointRole::SUB ? EntryKind::SUB : EntryKind::ORCHESTRATION);
  state_->executor = std::move(executor);
}

InProcessEndpoint::~InProcessEndpoint() {
  if (state_->waker) shutdown(Clock::now() + std::chrono::seconds(10));
}

void InProcessEndpoint::attach(Waker* waker) {
  if (state_->waker) return;
  state_->waker = waker;
  state_->thread = std::thread([st = state_] { st->thread_main(); });
}

void InProcessEndpoint::submit(const DispatchRequest& request) {
  State& st = *state_;
  State::Item item;
  item.dispatch_id = request.dispatch_id;
  item.digest = request.callable->digest;
  item.config = *request.config;
  item.args = TaskArgs::from_dispatched(*request.tensors, *request.scalars);
  bool notify;
  {
    std::lock_guard lock(st.mu);
    if (st.stopped) throw Error(fmt::format("in-process child is stopped: {}", st.stop_reason));
    st.inbox.push_back(std::move(item));
    st.inbox_size.fetch_add(1, std::memory_order_release);
    notify = st.sleeping;
  }
  if (notify) st.inbox_cv.notify_one();
}

size_t InProcessEndpoint::poll(std::vector<EndpointEvent>& out) {
  State& st = *state_;
  std::lock_guard lock(st.mu);
  const size_t n = st.done.size();
  for (auto& e : st.done) out.push_back(std::move(e));
  st.done.clear();
  return n;
}

EndpointHealth InProcessEndpoint::health() const {
  std::lock_guard lock(state_->mu);
  return EndpointHealth{!state_->stopped, state_->stop_reason};
}

ControlReply InProcessEndpoint::control(const ControlRequest& request, Deadline deadline) {
  State& st = *state_;
  auto ticket = std::make_shared<State::ControlTicket>();
  ticket->request = request;
  std::unique_lock lock(st.mu);
  if (st.stopped) return ControlReply{false, {}, fmt::format("child is stopped: {}", st.stop_reason), false};
  State::Item item;
  item.control = ticket;
  st.inbox.push_back(std::move(item));
  st.inbox_size.fetch_add(1, std::memory_order_release);
  if (st.sleeping) st.inbox_cv.notify_one();
  const bool finished = st.control_cv.wait_until(lock, deadline, [&] {
    return ticket->phase == State::ControlTicket::DONE || st.stopped;
  });
  if (ticket->phase == State::ControlTicket::DONE) return std::move(ticket->reply);
  if (ticket->phase == State::ControlTicket::QUEUED) {
    // Never started: remove it, no effect.
    for (auto it = st.inbox.begin(); it != st.inbox.end(); ++it) {
      if (it->control == ticket) {
        st.inbox.erase(it);
        st.inbox_size.fetch_sub(1, std::memory_order_release);
        break;
      }
    }
    return ControlReply{false, {}, fmt::format("control '{}' {} before it started (no effect)", request.name,
                                               finished ? "was cancelled by a stop" : "timed out"), false};
  }
  // Started but unfinished: its effect is uncertain, so the child is FAILED (RT-605).
  lock.unlock();
  request_stop(fmt::format("control '{}' timed out while running", request.name));
  return ControlReply{false, {}, fmt::format("control '{}' timed out while running (effect uncertain)", request.name), true};
}

void InProcessEndpoint::request_stop(const std::string& reason) {
  State& st = *state_;
  {
    std::lock_guard lock(st.mu);
    if (st.stopped) return;
    st.stopped = true;
    st.stop_reason = reason;
    // Every dispatch not yet reported ends now; a late result from the running one is dropped.
    const std::string msg = truncate_utf8(fmt::format("child stopped: {}", reason), kMaxMessageBytes);
    if (st.running_dispatch) {
      st.done.push_back({st.running_dispatch, Outcome::ENDPOINT_FAILURE, msg});
      st.reported_early.push_back(st.running_dispatch);
    }
    for (auto& item : st.inbox) {
      if (!item.control) st.done.push_back({item.dispatch_id, Outcome::ENDPOINT_FAILURE, msg});
    }
    st.inbox.clear();
    st.inbox_size.store(0, std::memory_order_release);
  }
  st.inbox_cv.notify_all();
  st.control_cv.notify_all();
  if (st.waker) st.waker->wake();
}

void InProcessEndpoint::shutdown(Deadline deadline) {
  request_stop("shutdown");
  State& st = *state_;
  std::unique_lock lock(st.mu);
  if (!st.waker) return;
  if (!st.thread.joinable()) return;
  if (st.exit_cv.wait_until(lock, deadline, [&] { return st.exited; })) {
    lock.unlock();
    st.thread.join();
    return;
  }
  // The callable never returned: leave the thread with its own reference to the state.
  spdlog::error("in-process child {}: its thread is still running a callable at the shutdown deadline; "
                "abandoning it", caps_.worker_id);
  st.thread.detach();
}

}  // namespace echelon
