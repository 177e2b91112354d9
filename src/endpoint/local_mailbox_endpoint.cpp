#include "endpoint/local_mailbox_endpoint.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "core/spin_wait.h"
#include "core/wake_signal.h"
#include "echelon/errors.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace echelon {
namespace {

constexpr uint32_t kControlRunning = 7;  // CONTROL_REQUEST claimed by the child
constexpr int kSliceMs = 20;             // liveness re-check while waiting on a child

Mailbox& init_mailbox(SharedMapping& m) {
  Mailbox* mb = new (m.data()) Mailbox();
  mb->layout_hash = mailbox_layout_hash();
  return *mb;
}

void ring_child(Mailbox& mb) {
  mb.child_bell.fetch_add(1, std::memory_order_seq_cst);
  if (mb.child_parked.load(std::memory_order_seq_cst)) futex_wake_all(mb.child_bell);
}

int remaining_ms(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kSliceMs));
}

}  // namespace

LocalMailboxEndpoint::LocalMailboxEndpoint(EndpointCaps caps, std::string name, ServiceFactory factory)
    : caps_(std::move(caps)), name_(std::move(name)), factory_(std::move(factory)),
      mailbox_(sizeof(Mailbox), "mailbox") {
  init_mailbox(mailbox_);
  caps_.kind = EndpointKind::LOCAL_MAILBOX;
  caps_.max_inflight = 1;  // one task frame
}

LocalMailboxEndpoint::~LocalMailboxEndpoint() {
  if (child_.valid()) shutdown(Clock::now() + std::chrono::seconds(5));
}

void LocalMailboxEndpoint::launch(const LaunchContext& context) {
  Mailbox* mb = mailbox_.as<Mailbox>();
  const Doorbell parent = *static_cast<const Doorbell*>(context.doorbell);
  ServiceFactory factory = factory_;
  child_ = ChildProcess::spawn(name_, [mb, parent, factory]() -> int {
    reset_process_instance_id();  // buffers this process creates get identities of their own
    std::unique_ptr<ChildService> service;
    try {
      service = factory();
    } catch (const std::exception& e) {
      set_frame_error(mb->control, 1, fmt::format("child setup failed: {}", e.what()));
      mb->control.state.store(static_cast<uint32_t>(FrameState::INIT_FAILED), std::memory_order_release);
      futex_wake_all(mb->control.state);
      return 1;
    }
    return run_mailbox_child(*mb, parent, *service);
  });
}

void LocalMailboxEndpoint::await_ready(Deadline deadline) {
  Mailbox& mb = *mailbox_.as<Mailbox>();
  while (true) {
    const uint32_t st = mb.control.state.load(std::memory_order_acquire);
    if (st == static_cast<uint32_t>(FrameState::INIT_READY)) {
      mb.control.state.store(static_cast<uint32_t>(FrameState::IDLE), std::memory_order_release);
      return;
    }
    if (st == static_cast<uint32_t>(FrameState::INIT_FAILED))
      throw Error(fmt::format("{} (pid {}) failed to start: {}", name_, child_.pid(), frame_error(mb.control)));
    std::string how;
    if (child_.exited(&how)) throw Error(fmt::format("{} (pid {}) {} during startup", name_, child_.pid(), how));
    if (Clock::now() >= deadline)
      throw TimeoutError(fmt::format("{} (pid {}) did not report ready before the startup deadline (startup_timeout_s)",
                                     name_, child_.pid()));
    futex_wait(mb.control.state, st, remaining_ms(deadline) + 1);
  }
}

void LocalMailboxEndpoint::fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  failure_ = reason;
  if (in_flight_) {
    pending_.push_back({in_flight_, Outcome::ENDPOINT_FAILURE, reason});
    in_flight_ = 0;
  }
}

bool LocalMailboxEndpoint::check_child_alive() {
  std::string how;
  if (!child_.exited(&how)) return true;
  fail(fmt::format("{} (pid {}) {}", name_, child_.pid(), how));
  return false;
}

void LocalMailboxEndpoint::submit(const DispatchRequest& request) {
  std::lock_guard lock(mu_);
  if (failed_) throw Error(fmt::format("{} is FAILED: {}", name_, failure_));
  Mailbox& mb = *mailbox_.as<Mailbox>();
  if (in_flight_ || mb.task.state.load(std::memory_order_acquire) != static_cast<uint32_t>(FrameState::IDLE))
    throw Error(fmt::format("{}: task frame is busy", name_));
  mb.task.payload_bytes = static_cast<uint32_t>(
      encode_task_payload(mb.task_payload, request.callable->digest, *request.config, *request.tensors, *request.scalars));
  mb.task.sequence = request.dispatch_id;
  mb.task.error = 0;
  mb.task.error_bytes = 0;
  in_flight_ = request.dispatch_id;
  mb.task.state.store(static_cast<uint32_t>(FrameState::TASK_READY), std::memory_order_release);
  ring_child(mb);
}

size_t LocalMailboxEndpoint::poll(std::vector<EndpointEvent>& out) {
  std::lock_guard lock(mu_);
  Mailbox& mb = *mailbox_.as<Mailbox>();
  const size_t before = out.size();
  if (in_flight_ && mb.task.state.load(std::memory_order_acquire) == static_cast<uint32_t>(FrameState::TASK_DONE)) {
    EndpointEvent ev{in_flight_, Outcome::SUCCESS, {}};
    if (mb.task.error != 0) {
      ev.outcome = Outcome::TASK_FAILURE;
      ev.message = frame_error(mb.task);
    }
    in_flight_ = 0;
    mb.task.state.store(static_cast<uint32_t>(FrameState::IDLE), std::memory_order_release);
    out.push_back(std::move(ev));
  } else if (!failed_) {
    // Woken without a finished task: the child may have died (the pidfd watcher rang us).
    check_child_alive();
  }
  for (auto& e : pending_) out.push_back(std::move(e));
  pending_.clear();
  return out.size() - before;
}

EndpointHealth LocalMailboxEndpoint::health() const {
  std::lock_guard lock(mu_);
  return EndpointHealth{!failed_, failure_};
}

ControlReply LocalMailboxEndpoint::control(const ControlRequest& request, Deadline deadline) {
  std::lock_guard serial(control_mu_);
  Mailbox& mb = *mailbox_.as<Mailbox>();
  {
    std::lock_guard lock(mu_);
    if (failed_) return ControlReply{false, {}, fmt::format("{} is FAILED: {}", name_, failure_), false};
    if (request.payload.size() > CONTROL_PAYLOAD_BYTES || request.name.size() >= CONTROL_NAME_BYTES)
      return ControlReply{false, {}, fmt::format("control '{}' does not fit the mailbox", request.name), false};
    std::memset(mb.control.name, 0, sizeof mb.control.name);
    std::memcpy(mb.control.name, request.name.data(), request.name.size());
    if (!request.payload.empty()) std::memcpy(mb.control_payload, request.payload.data(), request.payload.size());
    mb.control.payload_bytes = static_cast<uint32_t>(request.payload.size());
    mb.control.error = 0;
    mb.control.error_bytes = 0;
    mb.control.state.store(static_cast<uint32_t>(FrameState::CONTROL_REQUEST), std::memory_order_release);
    ring_child(mb);
  }
  while (true) {
    const uint32_t st = mb.control.state.load(std::memory_order_acquire);
    if (st == static_cast<uint32_t>(FrameState::CONTROL_DONE)) {
      ControlReply r;
      r.ok = mb.control.error == 0;
      if (r.ok) r.payload.assign(mb.control_payload, mb.control_payload + mb.control.payload_bytes);
      else r.error = frame_error(mb.control);
      mb.control.state.store(static_cast<uint32_t>(FrameState::IDLE), std::memory_order_release);
      return r;
    }
    {
      std::lock_guard lock(mu_);
      if (!check_child_alive()) return ControlReply{false, {}, failure_, true};
    }
    if (Clock::now() >= deadline) {
      // Not yet claimed by the child: take it back, it had no effect. Claimed: uncertain.
      uint32_t expected = static_cast<uint32_t>(FrameState::CONTROL_REQUEST);
      if (mb.control.state.compare_exchange_strong(expected, static_cast<uint32_t>(FrameState::IDLE)))
        return ControlReply{false, {}, fmt::format("control '{}' timed out before {} started it (no effect)",
                                                   request.name, name_), false};
      request_stop(fmt::format("control '{}' timed out while running", request.name));
      return ControlReply{false, {}, fmt::format("control '{}' timed out while {} ran it (effect uncertain)",
                                                 request.name, name_), true};
    }
    futex_wait(mb.control.state, st, remaining_ms(deadline) + 1);
  }
}

void LocalMailboxEndpoint::request_stop(const std::string& reason) {
  bool kill_now = false;
  {
    std::lock_guard lock(mu_);
    if (failed_) return;
    // Work in flight makes the child's state uncertain: it is killed, not asked.
    kill_now = in_flight_ != 0;
    fail(reason);
  }
  Mailbox& mb = *mailbox_.as<Mailbox>();
  mb.shutdown.store(1, std::memory_order_release);
  ring_child(mb);
  if (kill_now) child_.signal_group(SIGKILL);
  if (waker_) waker_->wake();
}

void LocalMailboxEndpoint::shutdown(Deadline deadline) {
  request_stop("shutdown");
  const auto grace = std::max(std::chrono::duration<double>(0), std::chrono::duration<double>(deadline - Clock::now()));
  child_.terminate(grace);
}

int run_mailbox_child(Mailbox& mb, const Doorbell& parent, ChildService& service) {
  const pid_t parent_pid = getppid();
  try {
    service.start();
  } catch (const std::exception& e) {
    set_frame_error(mb.control, 1, e.what());
    mb.control.state.store(static_cast<uint32_t>(FrameState::INIT_FAILED), std::memory_order_release);
    futex_wake_all(mb.control.state);
    return 1;
  }
  mb.control.state.store(static_cast<uint32_t>(FrameState::INIT_READY), std::memory_order_release);
  futex_wake_all(mb.control.state);

  const uint32_t task_ready = static_cast<uint32_t>(FrameState::TASK_READY);
  while (true) {
    const uint32_t seen = mb.child_bell.load(std::memory_order_acquire);
    if (mb.shutdown.load(std::memory_order_acquire)) break;
    if (mb.task.state.load(std::memory_order_acquire) == task_ready) {
      int32_t code = 0;
      std::string message;
      try {
        service.run(decode_task_payload(mb.task_payload, mb.task.payload_bytes));
      } catch (const std::exception& e) {
        code = 1;
        message = e.what();
      } catch (...) {
        code = 1;
        message = "callable threw a non-standard exception";
      }
      if (code) set_frame_error(mb.task, code, message);
      mb.task.state.store(static_cast<uint32_t>(FrameState::TASK_DONE), std::memory_order_release);
      parent.ring();
      continue;
    }
    uint32_t expected = static_cast<uint32_t>(FrameState::CONTROL_REQUEST);
    if (mb.control.state.compare_exchange_strong(expected, kControlRunning)) {
      const std::string name(mb.control.name, strnlen(mb.control.name, CONTROL_NAME_BYTES));
      ControlReply r;
      try {
        r = service.control(name, std::span<const uint8_t>(mb.control_payload, mb.control.payload_bytes));
      } catch (const std::exception& e) {
        r.ok = false;
        r.error = e.what();
      }
      if (r.ok) {
        const size_t n = std::min(r.payload.size(), CONTROL_PAYLOAD_BYTES);
        if (n) std::memcpy(mb.control_payload, r.payload.data(), n);
        mb.control.payload_bytes = static_cast<uint32_t>(n);
      } else {
        set_frame_error(mb.control, 1, r.error.empty() ? "control failed" : r.error);
      }
      mb.control.state.store(static_cast<uint32_t>(FrameState::CONTROL_DONE), std::memory_order_release);
      futex_wake_all(mb.control.state);
      continue;
    }
    if (spin_then_yield([&] { return mb.child_bell.load(std::memory_order_acquire) != seen; })) continue;
    // Announce the park before re-checking the bell, so a ring in between is never lost.
    mb.child_parked.store(1, std::memory_order_seq_cst);
    if (mb.child_bell.load(std::memory_order_seq_cst) == seen) futex_wait(mb.child_bell, seen, 1000);
    mb.child_parked.store(0, std::memory_order_relaxed);
    if (getppid() != parent_pid) break;  // orphaned: the death signal races with re-parenting
  }
  service.stop();
  return 0;
}

}  // namespace echelon
