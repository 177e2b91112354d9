#include "endpoint/remote_l3_endpoint.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <exception>

#include "echelon/errors.h"
#include "endpoint/remote_register_controls.h"
#include "endpoint/remote_task_args.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "transport/auth.h"
#include "transport/secret.h"
#include "transport/ucx_module.h"
#include "wire/buffer_controls.h"
#include "wire/frame_codec.h"
#include "wire/frame_header.h"
#include "wire/hello.h"
#include "wire/le_bytes.h"
#include "wire/limits.h"
#include "wire/register_controls.h"
#include "wire/task_payload.h"
#include "wire/wire_status.h"

namespace echelon {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

Clock::duration seconds(double s) { return duration_cast<Clock::duration>(duration<double>(s)); }

// The longest the I/O thread sleeps without a timer due; only bounds how late a stop is noticed if
// a wake-up were ever lost.
constexpr milliseconds kIdleTick{1000};
// A SHUTDOWN after a failed init still gets this long to leave the socket.
constexpr auto kMinShutdownSend = milliseconds(200);
// Rolling back a session that was bootstrapped but never attached (another child failed init):
// the runner is READY and waiting for its lanes, so attaching and sending SHUTDOWN is quick.
constexpr auto kMinRollback = milliseconds(1000);

// ControlRequest::name of a remote control is the protocol's name ("ALLOC_REMOTE_BUFFER").
std::optional<wire::ControlName> control_name_of(const std::string& name) {
  for (uint32_t v = wire::CONTROL_NAME_MIN; v <= wire::CONTROL_NAME_MAX; ++v) {
    const auto n = static_cast<wire::ControlName>(v);
    if (name == wire::to_string(n)) return n;
  }
  return std::nullopt;
}

// Where ControlPayload.command_len sits (after name and version, protocol.md 8).
constexpr size_t kCommandLenAt = 8;

// A borrowed tail is released by the I/O thread within one loop turn once the call is settled (the
// reply proves it was written; a failure makes the I/O thread drop it). Waiting past this grace
// means the I/O thread is wedged: returning would leave it writing from freed memory.
constexpr auto kReleaseGrace = std::chrono::seconds(5);

// A CONTROL_REPLY payload up to its result bytes when the error message is empty: sequence, name,
// version, code, message length (0), result length (protocol.md 8).
constexpr size_t kReplyPrefix = 8 + 4 + 4 + 4 + 4 + 4;

// Controls are version 1 unless a request says otherwise (protocol.md 9; version 2 copies are ucx
// only).
constexpr uint32_t kControlVersion = 1;

EndpointCaps remote_caps(WorkerId id, const std::string& host) {
  EndpointCaps c;
  c.kind = EndpointKind::REMOTE_L3;
  c.role = EndpointRole::NEXT_LEVEL;
  c.worker_id = id;
  c.level = 3;
  c.remote = true;
  c.host = host;
  c.callable_kinds = {CallableKind::NATIVE_IMPORT};
  c.scopes = {TargetNamespace::REMOTE_TASK_DISPATCHER};
  // No host address space: host memory of this process is not reachable from another host, so the
  // engine rejects host-backed tensors for this worker before dispatch. Remote arguments are
  // REMOTE_SIDECAR placeholders whose sidecar (not these caps) says where the bytes live.
  c.address_spaces = {};
  c.backing_kinds = {BackendKind::REMOTE_SIDECAR};
  c.max_inflight = 1;  // baseline single-flight command lane (protocol.md 15.2)
  return c;
}

}  // namespace

// One control call: the caller waits on control_cv_ until `state` is DONE or its deadline passed.
struct RemoteL3Endpoint::ControlCall {
  enum class State { QUEUED, SENT, DONE };
  wire::ControlName name = wire::ControlName::PREPARE_CALLABLE;
  State state = State::QUEUED;
  uint64_t sequence = 0;  // once SENT
  ControlReply reply;     // once DONE
  // control_borrowed: the command's tail in the caller's memory, and where an OK result goes.
  std::span<const uint8_t> tail;
  std::span<uint8_t> result_into;
  bool released = true;  // false while the transport may reference `tail` (or, rma, the caller's memory)
  uint32_t version = kControlVersion;
  bool rma = false;  // a version-2 copy: the runner reads or writes the caller's memory by RMA
};

RemoteL3Endpoint::RemoteL3Endpoint(const RemoteWorkerSpec& spec, WorkerId worker_id, int parent_level)
    : spec_(spec), worker_id_(worker_id), parent_level_(parent_level) {
  spec_.validate();
  profile_ = spec_.transport_profile == "ucx" ? remote::TransportProfile::UCX : remote::TransportProfile::HOST_TCP;
  if (profile_ == remote::TransportProfile::UCX) {
    // Loading the module starts nothing (no context, no thread) but says now, at add_remote_worker,
    // when this host cannot run the profile.
    try {
      (void)transport::load_ucx_module();
    } catch (const std::exception& e) {
      throw ValidationError(fmt::format("RemoteWorkerSpec.transport_profile: \"ucx\" cannot be used: {}", e.what()));
    }
  }
  daemon_ = transport::parse_endpoint_address(fmt::format("{}:{}", spec_.host, spec_.port));
  caps_ = remote_caps(worker_id, daemon_.host);
  name_ = fmt::format("remote worker {} at {}", worker_id, daemon_.to_string());
  // RT-909: the secret file is read and checked when the worker is added, not at init.
  if (!spec_.auth_secret_file.empty()) {
    try {
      secret_ = transport::load_secret_file(spec_.auth_secret_file);
    } catch (const std::exception& e) {
      throw ValidationError(fmt::format("RemoteWorkerSpec.auth_secret_file: {}", e.what()));
    }
  }
  for (const auto& target : spec_.remote_task_dispatcher) add_dispatcher_entry(RemoteCallable::native(target));
}

RemoteL3Endpoint::~RemoteL3Endpoint() {
  stop_io();
  close_lanes();
}

void RemoteL3Endpoint::add_dispatcher_entry(const RemoteCallable& callable) {
  if (launched_) throw UsageError(fmt::format("{}: dispatcher entries are fixed once the session is open", name_));
  const Digest& d = callable.identity().digest;
  if (std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.digest == d; })) return;
  remote::ManifestEntry e;
  e.digest = d;
  e.kind = CallableKind::NATIVE_IMPORT;
  e.target = callable.target();
  entries_.push_back(std::move(e));
}

void RemoteL3Endpoint::add_inner_entry(const RemoteCallable& callable) {
  if (launched_) throw UsageError(fmt::format("{}: inner entries are fixed once the session is open", name_));
  const Digest& d = callable.identity().digest;
  if (std::any_of(inner_entries_.begin(), inner_entries_.end(), [&](const auto& e) { return e.digest == d; })) return;
  remote::ManifestEntry e;
  e.digest = d;
  e.kind = callable.kind();
  if (const ChipCallable* kernel = callable.kernel()) e.chip_payload = remote_controls::chip_payload(*kernel);
  else e.target = callable.target();
  inner_entries_.push_back(std::move(e));
}

// --- start-up -------------------------------------------------------------------------------------

void RemoteL3Endpoint::launch(const LaunchContext& context) {
  // Sockets only, no thread: other lanes of this Worker may still fork after us (RT-704).
  startup_deadline_ = std::min(context.deadline, Clock::now() + seconds(spec_.startup_timeout_s));
  const double budget = duration<double>(startup_deadline_ - Clock::now()).count();
  if (budget <= 0) throw TimeoutError(fmt::format("{}: no startup time left before the bootstrap", name_));
  remote::BootstrapManifest& m = manifest_;
  m.session_id = transport::random_session_id();
  m.worker_id = static_cast<uint32_t>(worker_id_);
  m.parent_worker_level = static_cast<uint32_t>(parent_level_);
  m.transport_profile = profile_;
  m.num_chips = spec_.num_chips;
  m.num_sub_workers = spec_.num_sub_workers;
  m.heap_ring_bytes = spec_.heap_ring_bytes;
  m.startup_budget_s = std::min(budget, 86400.0);  // a duration: absolute times never cross hosts
  m.health_interval_s = spec_.health_interval_s;
  m.health_expiry_s = spec_.health_expiry_s;
  m.shutdown_timeout_s = spec_.shutdown_timeout_s;
  if (secret_) m.requested_features = m.required_features = wire::FEATURE_AUTH_HMAC_SHA256;  // no downgrade
  m.remote_task_dispatcher = entries_;
  m.inner_l3_worker = inner_entries_;
  launched_ = true;
  // ucx: the parent's lane workers must exist before the bootstrap, and creating them may start
  // UCX threads, so the whole bootstrap waits for await_ready, after every lane has forked.
  if (profile_ == remote::TransportProfile::HOST_TCP) bootstrap();
}

void RemoteL3Endpoint::bootstrap() {
  session_ = bootstrap_remote_session(daemon_, manifest_, secret_ ? &*secret_ : nullptr, startup_deadline_, name_);
}

void RemoteL3Endpoint::await_ready(Deadline deadline) {
  if (!launched_) throw UsageError(fmt::format("{}: await_ready before launch", name_));
  AttachedLanes preopened;
  if (profile_ == remote::TransportProfile::UCX) {
    preopened = open_ucx_parent_lanes(manifest_, name_);
    bootstrap();
  }
  lanes_ = attach_remote_lanes(daemon_, *session_, manifest_, std::min(deadline, startup_deadline_), name_,
                               std::move(preopened));
  if (!lanes_.command->detects_peer_death() || !lanes_.health->detects_peer_death())
    spdlog::warn("{}: the ucx lanes have no peer error handling (UCX_TLS offers only shared memory, which cannot "
                 "detect a dead peer); a dead runner is noticed by the health expiry ({} s). Add tcp to UCX_TLS for "
                 "immediate detection.",
                 name_, spec_.health_expiry_s);
  // The runner's RMA of a version-2 copy targets the parent, through the command lane's transports.
  rma_copies_ = profile_ == remote::TransportProfile::UCX && lanes_.command->safe_rma_target();
  if (profile_ == remote::TransportProfile::UCX && !rma_copies_)
    spdlog::debug("{}: UCX emulates RMA on these lanes with messages the parent would serve, and a runner dying "
                  "meanwhile would abort the parent inside UCX 1.13; copies travel in command-lane frames",
                  name_);
}

void RemoteL3Endpoint::attach(Waker* waker) {
  waker_ = waker;
  if (!lanes_.command || !lanes_.health) throw UsageError(fmt::format("{}: attach before the lanes are ready", name_));
  reactor_ = std::make_unique<transport::Reactor>();
  reactor_->add(lanes_.command->wait_fd(), transport::Reactor::READABLE, [this](uint32_t) { pump_command(); });
  command_interest_ = transport::Reactor::READABLE;
  reactor_->add(lanes_.health->wait_fd(), transport::Reactor::READABLE, [this](uint32_t) { pump_health(); });
  last_health_ = Clock::now();  // the expiry counts from the moment the lanes are ours
  (void)lanes_.command->set_tail_router(kReplyPrefix, [this](const wire::FrameHeader& h,
                                                             std::span<const uint8_t> prefix) {
    return route_reply(h, prefix);
  });
  io_ = std::thread([this] { io_main(); });
}

// --- the I/O thread -------------------------------------------------------------------------------

void RemoteL3Endpoint::io_main() {
  // Frames read while waiting for HELLO sit in the channels' buffers, which epoll cannot see.
  pump_command();
  pump_health();
  while (!io_stop_.load(std::memory_order_acquire)) {
    if (drop_borrowed_.exchange(false, std::memory_order_acq_rel)) {
      // The endpoint failed with a borrowed tail not yet written (the half-sent frame can never be
      // completed, and closing the lane drops the tail) or an RMA copy unanswered (closing the lane
      // ends the worker the runner writes the caller's memory through): either caller may return.
      if (!lanes_dead_) lanes_broken("closed: a copy was abandoned while in flight");
      lanes_.command->close();
      std::lock_guard lock(mu_);
      release_rma_borrow_locked();
    }
    flush_outbox();
    if (!lanes_dead_) {
      // Only a change costs an epoll_ctl: output waits for EPOLLOUT only after a partial write.
      const uint32_t interest = transport::Reactor::READABLE |
                                (lanes_.command->wants_write() ? transport::Reactor::WRITABLE : 0);
      if (interest != command_interest_) {
        reactor_->modify(lanes_.command->wait_fd(), interest);
        command_interest_ = interest;
      }
    }
    // Some profiles (ucx) make wait_fd() wake on their next event only when asked before a sleep.
    // A lane with work already left its wait_fd() readable, so the sleep ends at once.
    if (!lanes_dead_) {
      (void)lanes_.command->prepare_wait();
      (void)lanes_.health->prepare_wait();
    }
    reactor_->run_once(next_timer(Clock::now()));
    check_timers(Clock::now());
  }
}

void RemoteL3Endpoint::flush_outbox() {
  std::deque<OutFrame> frames;
  {
    std::lock_guard lock(mu_);
    frames.swap(outbox_);
    if (lanes_dead_) {  // never posted: nothing references the borrowed tails
      for (OutFrame& f : frames)
        if (f.borrower) release_borrow_locked(*f.borrower);
      return;
    }
  }
  if (frames.empty()) return;
  size_t posted = 0;
  try {
    for (; posted < frames.size(); ++posted) {
      OutFrame& f = frames[posted];
      if (f.borrower)
        lanes_.command->post_parts(std::move(f.head), f.borrower->tail,
                                   [this, call = f.borrower]() { release_borrow(*call); });
      else
        lanes_.command->post(std::move(f.head));
    }
    // Written at once; no read here (the reply cannot be there yet, and readiness brings it). What
    // the kernel does not take now goes out on EPOLLOUT.
    (void)lanes_.command->flush();
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);  // the frame that threw and those after it were never queued
      for (size_t i = posted; i < frames.size(); ++i)
        if (frames[i].borrower) release_borrow_locked(*frames[i].borrower);
    }
    lanes_broken(fmt::format("command lane: {}", e.what()));
  }
}

void RemoteL3Endpoint::release_borrow(ControlCall& call) noexcept {
  std::lock_guard lock(mu_);
  release_borrow_locked(call);
}

void RemoteL3Endpoint::release_borrow_locked(ControlCall& call) noexcept {
  if (call.released) return;
  call.released = true;
  --borrows_out_;
  control_cv_.notify_all();
}

void RemoteL3Endpoint::release_rma_borrow_locked() noexcept {
  if (!rma_borrower_) return;
  release_borrow_locked(*rma_borrower_);
  rma_borrower_.reset();
}

std::span<uint8_t> RemoteL3Endpoint::route_reply(const wire::FrameHeader& h, std::span<const uint8_t> prefix) noexcept {
  if (h.type != wire::FrameType::CONTROL_REPLY || h.session_id != manifest_.session_id || h.worker_id != worker_id_ ||
      prefix.size() != kReplyPrefix)
    return {};
  const auto sequence = wire::load_le<uint64_t>(prefix.data());
  const auto name = wire::load_le<uint32_t>(prefix.data() + 8);
  const auto version = wire::load_le<uint32_t>(prefix.data() + 12);
  const auto code = wire::load_le<int32_t>(prefix.data() + 16);
  const auto message_len = wire::load_le<uint32_t>(prefix.data() + 20);
  const auto result_len = wire::load_le<uint32_t>(prefix.data() + 24);
  std::lock_guard lock(mu_);
  if (failed_ || lanes_dead_ || routed_call_ || !control_in_flight_) return {};
  ControlCall& call = *control_in_flight_;
  // Only an OK reply to exactly the awaited call whose result fills the frame and the destination;
  // anything else arrives whole and goes through the lane's checks as before.
  if (call.result_into.empty() || !call.released || call.state != ControlCall::State::SENT ||
      call.sequence != h.sequence || sequence != h.sequence || name != static_cast<uint32_t>(call.name) ||
      version != call.version || code != static_cast<int32_t>(wire::WireStatus::OK) || message_len != 0 ||
      result_len != call.result_into.size() || uint64_t{h.payload_bytes} != kReplyPrefix + uint64_t{result_len})
    return {};
  call.released = false;
  ++borrows_out_;
  routed_call_ = control_in_flight_;
  return call.result_into;
}

void RemoteL3Endpoint::release_routed_locked() noexcept {
  if (!routed_call_) return;
  release_borrow_locked(*routed_call_);
  routed_call_.reset();
}

void RemoteL3Endpoint::pump_command() {
  if (lanes_dead_) return;
  try {
    while (auto frame = lanes_.command->poll()) {
      bool woke = false;
      const auto& h = frame->header;
      if (h.session_id != manifest_.session_id || h.worker_id != worker_id_)
        throw Error(fmt::format("command lane: a {} frame for session {} worker {}", wire::to_string(h.type),
                                h.session_id, h.worker_id));
      std::unique_lock lock(mu_);
      // The lane pairs the reply with the awaited request (kind, sequence, control name and
      // version) and closes itself otherwise; awaited() throws when nothing is awaited.
      // A routed reply's result is already in its destination: the lane checks the reply as
      // received (route_reply only took an OK reply with an empty message) with no result bytes.
      std::array<uint8_t, kReplyPrefix> routed_reply{};
      const bool routed = frame->tail_routed;
      wire::FrameView view;
      if (routed) {
        if (frame->payload().size() != kReplyPrefix) throw Error("command lane: a routed reply of the wrong shape");
        std::memcpy(routed_reply.data(), frame->payload().data(), kReplyPrefix);
        wire::store_le<uint32_t>(routed_reply.data() + kReplyPrefix - 4, 0);
        wire::FrameHeader h2 = frame->header;
        h2.payload_bytes = static_cast<uint32_t>(kReplyPrefix);
        view = wire::FrameView{h2, routed_reply};
      } else {
        view = wire::decode_frame(frame->bytes);
      }
      if (command_lane_.awaited().kind == wire::CommandKind::CONTROL) {
        const wire::ControlReply r = command_lane_.accept_control_reply(view);
        if (control_in_flight_) {  // else settled already (stop): the reply is late
          const std::shared_ptr<ControlCall> call = std::move(control_in_flight_);
          control_in_flight_.reset();
          if (call->rma) release_rma_borrow_locked();  // answered: the runner's RMA is complete
          if (routed && call == routed_call_ && r.status() == wire::WireStatus::OK) {
            settle_control_locked(*call, ControlReply{true, {}, {}, false});
          } else if (routed) {
            settle_control_locked(*call, failed_control(fmt::format("{} reply was routed to another call",
                                                                    wire::to_string(r.name)),
                                                        false));
          } else if (r.status() == wire::WireStatus::OK && !call->result_into.empty()) {
            // Straight into the caller's destination (it waits under mu_ for this call, so it is alive).
            if (r.result.size() == call->result_into.size()) {
              std::memcpy(call->result_into.data(), r.result.data(), r.result.size());
              settle_control_locked(*call, ControlReply{true, {}, {}, false});
            } else {
              settle_control_locked(*call, failed_control(fmt::format("{} reply carries {} result bytes, {} were "
                                                                      "asked for",
                                                                      wire::to_string(r.name), r.result.size(),
                                                                      call->result_into.size()),
                                                          false));
            }
          } else if (r.status() == wire::WireStatus::OK) {
            settle_control_locked(*call, ControlReply{true, {r.result.begin(), r.result.end()}, {}, false});
          } else {
            // Not applied (protocol.md 8); the runner's text already names host, worker, control, seq.
            settle_control_locked(*call, failed_control(fmt::format("{} answered {}: {}", wire::to_string(r.name),
                                                                    wire::to_string(r.status()), r.error_message),
                                                        false));
          }
        }
      } else {
        const wire::CompletionPayload c = command_lane_.accept_completion(view);
        if (in_flight_ != 0) {  // else settled already (stop, timeout): the reply is late
          const bool ok = c.status() == wire::WireStatus::OK;
          pending_.push_back({in_flight_, ok ? Outcome::SUCCESS : Outcome::TASK_FAILURE,
                              ok ? std::string() : c.error_message});
          in_flight_ = 0;
          in_flight_deadline_.reset();
          woke = true;
        }
      }
      if (routed) release_routed_locked();  // the transport no longer writes into the destination
      // The next queued command goes out on this loop's flush_outbox().
      (void)send_next_locked();
      lock.unlock();
      lanes_.command->recycle(std::move(frame->bytes));  // the next bulk reply is received into it
      if (woke) wake_engine();  // at once, not after the read that finds the socket empty
    }
  } catch (const std::exception& e) {
    lanes_broken(fmt::format("command lane: {}", e.what()));
  }
}

void RemoteL3Endpoint::pump_health() {
  if (lanes_dead_) return;
  try {
    while (auto frame = lanes_.health->poll()) {
      const auto& h = frame->header;
      if (h.type != wire::FrameType::HEALTH || h.session_id != manifest_.session_id || h.worker_id != worker_id_)
        throw Error(fmt::format("health lane: unexpected {} frame", wire::to_string(h.type)));
      last_health_ = Clock::now();
    }
  } catch (const std::exception& e) {
    lanes_broken(fmt::format("health lane: {}", e.what()));
  }
}

std::chrono::milliseconds RemoteL3Endpoint::next_timer(Clock::time_point now) const {
  Clock::time_point due = now + kIdleTick;
  if (!lanes_dead_) due = std::min(due, last_health_ + seconds(spec_.health_expiry_s));
  {
    std::lock_guard lock(mu_);
    if (in_flight_deadline_) due = std::min(due, *in_flight_deadline_);
  }
  // Round up so the wait never ends just before the timer and spins.
  return std::max(milliseconds(1), duration_cast<milliseconds>(due - now) + milliseconds(1));
}

void RemoteL3Endpoint::check_timers(Clock::time_point now) {
  if (lanes_dead_) return;
  const auto silent = now - last_health_;
  if (silent >= seconds(spec_.health_expiry_s)) {
    // RT-906: FAILED at once, even when idle; later HEALTH never re-admits it.
    lanes_broken(fmt::format("no HEALTH for {:.3f} s (health expiry {} s)", duration<double>(silent).count(),
                             spec_.health_expiry_s));
    return;
  }
  bool woke = false;
  {
    std::lock_guard lock(mu_);
    if (in_flight_deadline_ && now >= *in_flight_deadline_) {
      // The runner may still be running it, so the lane can no longer be paired: FAILED.
      command_lane_.mark_failed();
      woke = fail_locked(fmt::format("TASK seq {} timed out after {} s (task_timeout_s)", in_flight_sequence_,
                                     spec_.task_timeout_s));
    }
  }
  if (woke) wake_engine();
}

void RemoteL3Endpoint::lanes_broken(const std::string& reason) {
  if (lanes_dead_) return;
  lanes_dead_ = true;
  // Level-triggered epoll would report a closed socket forever: stop watching both lanes.
  reactor_->remove(lanes_.command->wait_fd());
  reactor_->remove(lanes_.health->wait_fd());
  bool woke;
  {
    std::lock_guard lock(mu_);
    command_lane_.mark_failed();
    woke = fail_locked(reason);
    release_routed_locked();  // nothing reads the lane any more, so nothing writes a routed result
  }
  if (woke) wake_engine();
}

// --- engine side ----------------------------------------------------------------------------------

bool RemoteL3Endpoint::fail_locked(const std::string& reason) {
  if (failed_) return false;
  failed_ = true;
  failure_ = fmt::format("{}: {}", name_, reason);
  if (in_flight_ != 0) pending_.push_back({in_flight_, Outcome::ENDPOINT_FAILURE, failure_});
  in_flight_ = 0;
  in_flight_deadline_.reset();
  // A sent control may have been applied before the lane failed: its effect is uncertain.
  if (control_in_flight_) {
    settle_control_locked(*control_in_flight_,
                          ControlReply{false, {}, fmt::format("{} seq {}: {}", wire::to_string(control_in_flight_->name),
                                                              control_in_flight_->sequence, failure_),
                                       true});
    control_in_flight_.reset();
  }
  // Nothing queued was sent, so nothing queued took effect.
  for (QueuedCommand& q : queued_) {
    if (q.control)
      settle_control_locked(*q.control, ControlReply{false, {},
                                                     fmt::format("{} not sent: {}", wire::to_string(q.control->name),
                                                                 failure_),
                                                     false});
    else
      pending_.push_back({q.dispatch_id, Outcome::ENDPOINT_FAILURE, failure_});
  }
  queued_.clear();
  // A borrowed tail still in the transport is dropped by the I/O thread (it closes the lane).
  if (borrows_out_ > 0) {
    drop_borrowed_.store(true, std::memory_order_release);
    if (reactor_) reactor_->wake();
  }
  return true;
}

bool RemoteL3Endpoint::send_next_locked() {
  bool queued_frame = false;
  while (!failed_ && !queued_.empty() && in_flight_ == 0 && !control_in_flight_) {
    QueuedCommand q = std::move(queued_.front());
    queued_.pop_front();
    try {
      if (q.kind == wire::CommandKind::TASK) {
        const uint64_t seq = command_lane_.begin_task();
        outbox_.push_back(OutFrame{
            wire::encode_frame(wire::FrameType::TASK, wire::FrameRoute{manifest_.session_id, worker_id_, seq, 0}, q.payload),
            nullptr});
        in_flight_ = q.dispatch_id;
        in_flight_sequence_ = seq;
        if (spec_.task_timeout_s > 0) in_flight_deadline_ = Clock::now() + seconds(spec_.task_timeout_s);
      } else {
        const wire::AwaitedControl awaited = command_lane_.begin_control(q.control->name, q.control->version);
        if (q.control->rma) {
          q.control->released = false;
          ++borrows_out_;
          rma_borrower_ = q.control;
        }
        const wire::FrameRoute route{manifest_.session_id, worker_id_, awaited.sequence, 0};
        if (q.control->tail.empty()) {
          outbox_.push_back(OutFrame{wire::encode_frame(wire::FrameType::CONTROL, route, q.payload), nullptr});
        } else {
          // Header and envelope here; the tail goes out from the caller's memory.
          outbox_.push_back(OutFrame{
              wire::encode_frame_head(wire::FrameType::CONTROL, route, q.payload, q.control->tail.size()), q.control});
          q.control->released = false;
          ++borrows_out_;
        }
        q.control->state = ControlCall::State::SENT;
        q.control->sequence = awaited.sequence;
        control_in_flight_ = std::move(q.control);
      }
      queued_frame = true;
    } catch (const std::exception& e) {
      // Only a closed lane refuses here (payloads were validated when queued): nothing was sent.
      const std::string why = fmt::format("{}: {} not sent: {}", name_, wire::to_string(q.kind), e.what());
      if (q.control) settle_control_locked(*q.control, ControlReply{false, {}, why, false});
      else pending_.push_back({q.dispatch_id, Outcome::ENDPOINT_FAILURE, why});
    }
  }
  return queued_frame;
}

void RemoteL3Endpoint::settle_control_locked(ControlCall& call, ControlReply reply) {
  call.reply = std::move(reply);
  call.state = ControlCall::State::DONE;
  control_cv_.notify_all();
}

ControlReply RemoteL3Endpoint::failed_control(std::string text, bool uncertain) const {
  return ControlReply{false, {}, fmt::format("{}: {}", name_, text), uncertain};
}

void RemoteL3Endpoint::wake_engine() noexcept {
  if (waker_) waker_->wake();
}

void RemoteL3Endpoint::submit(const DispatchRequest& request) {
  // Everything the request points to is copied into the encoded payload here (endpoint.h).
  std::vector<uint8_t> payload;
  try {
    payload = wire::encode_task(remote_task_payload(request));
    if (payload.size() > wire::MAX_FRAME_PAYLOAD_BYTES)
      throw SubmitError(fmt::format("TASK payload of {} bytes exceeds the frame maximum of {}", payload.size(),
                                    wire::MAX_FRAME_PAYLOAD_BYTES));
  } catch (const Error& e) {
    // Decision: a refused argument is this task's failure, not the endpoint's. Throwing would make
    // the engine report ENDPOINT_FAILURE ("endpoint refused the dispatch") although the session is
    // fine; TASK_FAILURE through poll() fails the task alone, sends nothing and consumes no sequence.
    {
      std::lock_guard lock(mu_);
      pending_.push_back({request.dispatch_id, Outcome::TASK_FAILURE,
                          fmt::format("{}: task refused before sending: {}", name_, e.what())});
    }
    wake_engine();
    return;
  }
  bool queued_frame;
  {
    std::lock_guard lock(mu_);
    if (failed_) throw Error(fmt::format("{} is FAILED: {}", name_, failure_));
    const bool task_waiting = std::any_of(queued_.begin(), queued_.end(), [](const QueuedCommand& q) { return !q.control; });
    if (in_flight_ != 0 || task_waiting)
      throw Error(fmt::format("{}: a task is already in flight (max_inflight 1)", name_));
    // Behind a control the task waits its turn (the engine may dispatch just as a control starts).
    queued_.push_back(QueuedCommand{wire::CommandKind::TASK, std::move(payload), request.dispatch_id, nullptr});
    queued_frame = send_next_locked();
  }
  if (queued_frame && reactor_) reactor_->wake();
}

size_t RemoteL3Endpoint::poll(std::vector<EndpointEvent>& out) {
  std::lock_guard lock(mu_);
  const size_t n = pending_.size();
  for (auto& e : pending_) out.push_back(std::move(e));
  pending_.clear();
  return n;
}

EndpointHealth RemoteL3Endpoint::health() const {
  std::lock_guard lock(mu_);
  return EndpointHealth{!failed_, failure_};
}

ControlReply RemoteL3Endpoint::control(const ControlRequest& request, Deadline deadline) {
  return control_borrowed(request, {}, {}, deadline);
}

ControlReply RemoteL3Endpoint::control_borrowed(const ControlRequest& request, std::span<const uint8_t> tail,
                                                std::span<uint8_t> result_into, Deadline deadline) {
  return run_control(request, tail, result_into, deadline, /*rma=*/false);
}

bool RemoteL3Endpoint::copies_by_rma(uint64_t bytes) const noexcept {
  return rma_copies_ && bytes > spec_.ucx_inline_copy_max;
}

ControlReply RemoteL3Endpoint::copy_by_rma(wire::ControlName name, wire::CopyRmaRequest request,
                                           std::span<std::byte> memory, Deadline deadline) {
  const char* label = wire::to_string(name);
  std::unique_ptr<transport::ucx::Registration> registration;
  ControlRequest control;
  try {
    if (profile_ != remote::TransportProfile::UCX) throw Error("RMA copies need the ucx profile");
    registration = transport::load_ucx_module().context()->register_memory(memory.data(), memory.size());
    request.size = memory.size();
    request.peer_addr = reinterpret_cast<uint64_t>(registration->base());
    request.peer_rkey = registration->packed_rkey();
    control = ControlRequest{label, wire::encode_copy_rma_request(request), 2};
  } catch (const std::exception& e) {
    return failed_control(fmt::format("{} v2 not sent: {}", label, e.what()), false);
  }
  // Returns only once the runner's RMA is over (answered) or impossible (the lane closed), so the
  // registration and the caller's memory may go.
  return run_control(control, {}, {}, deadline, /*rma=*/true);
}

ControlReply RemoteL3Endpoint::run_control(const ControlRequest& request, std::span<const uint8_t> tail,
                                           std::span<uint8_t> result_into, Deadline deadline, bool rma) {
  const std::optional<wire::ControlName> name = control_name_of(request.name);
  if (!name)
    return failed_control(fmt::format("unknown control '{}' (remote sessions take protocol control names such as "
                                      "ALLOC_REMOTE_BUFFER)",
                                      request.name),
                          false);
  const char* label = wire::to_string(*name);
  std::vector<uint8_t> payload;
  try {
    if (tail.empty()) {
      payload = wire::encode_control({*name, request.version, request.payload});
    } else {
      // The envelope (name, version, command_len) announces head + tail; only the head is encoded.
      payload = wire::encode_control({*name, request.version, request.payload});
      const uint64_t command_len = request.payload.size() + tail.size();
      if (command_len > UINT32_MAX) throw Error(fmt::format("CONTROL command of {} bytes is too long", command_len));
      wire::store_le(payload.data() + kCommandLenAt, static_cast<uint32_t>(command_len));
    }
    if (payload.size() + tail.size() > wire::MAX_FRAME_PAYLOAD_BYTES)
      throw Error(fmt::format("CONTROL payload of {} bytes exceeds the frame maximum of {}", payload.size() + tail.size(),
                              wire::MAX_FRAME_PAYLOAD_BYTES));
  } catch (const std::exception& e) {
    return failed_control(fmt::format("{} not sent: {}", label, e.what()), false);
  }
  // Each round trip is also bounded by this worker's own control_timeout_s (protocol.md 13), so a
  // caller's long deadline cannot outlast the session's.
  deadline = std::min(deadline, Clock::now() + seconds(spec_.control_timeout_s));
  // Sending with no time left would only make the endpoint FAILED for a reply nobody waits for.
  if (Clock::now() >= deadline) return failed_control(fmt::format("{} not sent: its deadline has already passed", label), false);
  auto call = std::make_shared<ControlCall>();
  call->name = *name;
  call->version = request.version;
  call->rma = rma;
  call->tail = tail;
  call->result_into = result_into;
  std::unique_lock lock(mu_);
  if (failed_) return ControlReply{false, {}, fmt::format("{} not sent: {}", label, failure_), false};
  if (!reactor_) return failed_control(fmt::format("{} not sent: the session is not attached", label), false);
  // Behind every task and control that came first (RT-604).
  queued_.push_back(QueuedCommand{wire::CommandKind::CONTROL, std::move(payload), 0, call});
  if (send_next_locked()) reactor_->wake();
  // Settled by the reply, or by fail_locked (health expiry, lane break, stop) at once.
  control_cv_.wait_until(lock, deadline, [&] { return call->state == ControlCall::State::DONE; });
  if (call->state == ControlCall::State::DONE) {
    await_release_locked(lock, *call, deadline);
    return call->reply;
  }
  if (call->state == ControlCall::State::QUEUED) {
    // Never sent (still behind a running task): the call fails, the endpoint stays healthy (protocol.md 12).
    queued_.erase(std::find_if(queued_.begin(), queued_.end(), [&](const QueuedCommand& q) { return q.control == call; }));
    return failed_control(
        fmt::format("{} timed out waiting for the command lane ({} seq {} is still running); nothing was sent", label,
                    control_in_flight_ ? "CONTROL" : "TASK",
                    control_in_flight_ ? control_in_flight_->sequence : in_flight_sequence_),
        false);
  }
  // Sent, unanswered: a late reply could pair with the next request, so the lane is done (protocol.md
  // 12, WIRE-29). fail_locked settles this call as uncertain.
  command_lane_.mark_failed();
  const bool woke = fail_locked(fmt::format("CONTROL {} seq {} got no reply before its deadline", label, call->sequence));
  ControlReply reply = call->reply;
  await_release_locked(lock, *call, deadline);
  lock.unlock();
  if (woke) wake_engine();
  return reply;
}

void RemoteL3Endpoint::await_release_locked(std::unique_lock<std::mutex>& lock, ControlCall& call,
                                            Deadline deadline) {
  if (call.released) return;
  if (!control_cv_.wait_until(lock, std::max(deadline, Clock::now()) + kReleaseGrace, [&] { return call.released; })) {
    spdlog::critical("{}: the I/O thread did not release a borrowed {} chunk; aborting rather than letting it read "
                     "freed memory", name_, wire::to_string(call.name));
    std::terminate();
  }
}

void RemoteL3Endpoint::request_stop(const std::string& reason) {
  bool woke;
  {
    std::lock_guard lock(mu_);
    woke = fail_locked(fmt::format("stopped: {}", reason));
  }
  if (woke) wake_engine();
}

// --- shutdown -------------------------------------------------------------------------------------

void RemoteL3Endpoint::stop_io() noexcept {
  if (!io_.joinable()) return;
  io_stop_.store(true, std::memory_order_release);
  reactor_->wake();
  io_.join();
}

void RemoteL3Endpoint::close_lanes() noexcept {
  if (lanes_.command) lanes_.command->close();
  if (lanes_.health) lanes_.health->close();
  std::lock_guard lock(mu_);
  release_routed_locked();  // a closed lane writes nothing more into a routed destination
  release_rma_borrow_locked();  // nor does a runner's RMA through the closed command worker
}

void RemoteL3Endpoint::send_shutdown_and_wait(Deadline deadline) {
  uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    // With a task still running remotely the runner cannot read SHUTDOWN; EOF ends it instead.
    if (!command_lane_.can_send(wire::CommandKind::SHUTDOWN)) return;
    seq = command_lane_.begin_shutdown();
  }
  const wire::FrameRoute route{manifest_.session_id, worker_id_, seq, 0};
  lanes_.command->send(wire::encode_frame(wire::FrameType::SHUTDOWN, route, {}), deadline);
  // The runner closes its end once its inner Worker is closed (RT-907): wait for that EOF (on ucx,
  // the runner's close notice; a runner dying meanwhile over shared memory ends the wait only at
  // the deadline).
  for (;;) {
    try {
      (void)lanes_.command->receive(deadline);  // nothing is expected; a late frame is dropped
    } catch (const transport::TransportError& e) {
      if (e.code() == transport::TransportErrc::PEER_CLOSED) return;
      throw;
    }
  }
}

void RemoteL3Endpoint::shutdown(Deadline deadline) {
  stop_io();  // the lanes belong to this thread again
  const auto floor = session_ && !lanes_.command ? kMinRollback : kMinShutdownSend;
  const Deadline bound =
      std::min(std::max(deadline, Clock::now() + floor), Clock::now() + seconds(spec_.shutdown_timeout_s));
  if (session_ && !lanes_.command && profile_ == remote::TransportProfile::HOST_TCP) {
    // Bootstrapped, never attached (init failed elsewhere): without this the runner would wait for
    // its lanes until the startup deadline (RT-905: a failed init rolls back every session). On
    // ucx the bootstrap and the attach are one step, and a runner whose parent lanes vanish sees
    // its endpoints fail.
    try {
      lanes_ = attach_remote_lanes(daemon_, *session_, manifest_, bound, name_);
    } catch (const std::exception& e) {
      spdlog::warn("{}: rolling back the unattached session failed: {}", name_, e.what());
    }
  }
  if (lanes_.command && !lanes_dead_) {
    try {
      send_shutdown_and_wait(bound);
    } catch (const std::exception& e) {
      spdlog::warn("{}: clean session shutdown failed, closing the lanes: {}", name_, e.what());
    }
  }
  close_lanes();  // drops (and releases) any borrowed tail still queued in the transport
  std::lock_guard lock(mu_);
  fail_locked("shut down");
  for (OutFrame& f : outbox_)  // never posted: the I/O thread is gone
    if (f.borrower) release_borrow_locked(*f.borrower);
  outbox_.clear();
}

}  // namespace echelon
