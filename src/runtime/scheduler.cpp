// The Scheduler thread: routes READY slots, dispatches them to lanes, turns endpoint events into
// outcomes, and parks when nothing can progress (runtime.md section 4).
#include <algorithm>

#include "echelon/errors.h"
#include "fmt/format.h"
#include "runtime/engine.h"
#include "spdlog/spdlog.h"

namespace echelon {
RunState* Engine::dispatching_run() {
  for (auto& r : runs_)
    if (!r->terminal) return r.get();
  return nullptr;
}

TaskSlot* Engine::ready_slot(QueueRef ref) {
  TaskSlot& s = slots_.at(ref.index);
  return s.generation == ref.generation && s.state == TaskState::READY ? &s : nullptr;
}

bool Engine::any_sub_lane_alive() const {
  return std::any_of(sub_lanes_.begin(), sub_lanes_.end(), [&](uint32_t l) { return !lanes_[l]->failed(); });
}

void Engine::route(TaskSlot& slot) {
  RunState& run = *slot.run;
  if (run.cancelled) {
    fail_unstarted(slot, Outcome::SKIPPED, fmt::format("cancelled: {}", run.root_error));
    return;
  }
  const QueueRef ref{slot.index, slot.generation};
  if (slot.is_sub) {
    if (!any_sub_lane_alive()) {
      fail_unstarted(slot, Outcome::ENDPOINT_FAILURE, "every SUB worker of this Worker is FAILED");
      return;
    }
    run.subs.push_back(ref);
    return;
  }
  for (const Member& m : slot.members) {
    const EndpointLane& lane = *lanes_[m.lane];
    if (lane.failed()) {
      fail_unstarted(slot, Outcome::ENDPOINT_FAILURE, fmt::format("worker {} is FAILED: {}", m.target, lane.failure_reason));
      return;
    }
  }
  if (slot.is_group) run.groups.push_back(ref);
  else run.directed[slot.members[0].lane].push_back(ref);
}

void Engine::claim_member(TaskSlot& slot, uint32_t member, EndpointLane& lane, std::vector<PendingDispatch>& out) {
  Member& m = slot.members[member];
  m.state = MemberState::RUNNING;
  m.lane = static_cast<int32_t>(lane.index());
  m.dispatch_id = lane.next_dispatch_id++;
  const Clock::time_point started = options_.task_timeout_s > 0 ? Clock::now() : Clock::time_point{};
  lane.running.push_back({m.dispatch_id, slot.index, member, started});
  ++counters_.dispatches;
  lane.handoffs_in_progress.fetch_add(1, std::memory_order_acq_rel);
  DispatchRequest req;
  req.dispatch_id = m.dispatch_id;
  req.group_index = member;
  req.run_id = slot.run->id;
  req.slot_index = slot.index;
  req.callable = &slot.callable;
  req.config = &slot.config;
  req.tensors = &m.tensors;
  req.scalars = &m.scalars;
  req.remote = m.remote.empty() ? nullptr : &m.remote;
  out.push_back({lane.index(), req});
}

void Engine::dispatch_ready(std::vector<PendingDispatch>& out) {
  RunState* run = dispatching_run();
  if (!run) return;
  std::fill(reserved_.begin(), reserved_.end(), false);

  // Groups: only the head is examined; a blocked head reserves its targets (RT-403).
  while (!run->groups.empty()) {
    TaskSlot* s = ready_slot(run->groups.front());
    if (!s) {
      run->groups.pop_front();
      continue;
    }
    bool all_idle = true;
    for (const Member& m : s->members) all_idle = all_idle && lanes_[m.lane]->idle();
    if (!all_idle) {
      for (const Member& m : s->members) reserved_[m.lane] = true;
      note_blocked_group(*s, *run);
      break;
    }
    run->groups.pop_front();
    s->state = TaskState::RUNNING;
    for (uint32_t i = 0; i < s->members.size(); ++i) claim_member(*s, i, *lanes_[s->members[i].lane], out);
  }

  // Singles: each idle, unreserved worker takes its own FIFO head; no search, no stealing (RT-402).
  for (uint32_t li : next_level_lanes_) {
    if (reserved_[li]) continue;
    EndpointLane& lane = *lanes_[li];
    auto& q = run->directed[li];
    while (!q.empty() && lane.has_capacity()) {
      TaskSlot* s = ready_slot(q.front());
      q.pop_front();
      if (!s) continue;
      s->state = TaskState::RUNNING;
      claim_member(*s, 0, lane, out);
    }
  }

  // SUB work: the least-loaded SUB lane with capacity; a SUB group needs that many distinct idle
  // lanes at once (RT-404).
  while (!run->subs.empty()) {
    TaskSlot* s = ready_slot(run->subs.front());
    if (!s) {
      run->subs.pop_front();
      continue;
    }
    const size_t need = s->members.size();
    if (need == 1) {
      EndpointLane* best = nullptr;
      for (uint32_t li : sub_lanes_) {
        EndpointLane& l = *lanes_[li];
        if (l.has_capacity() && (!best || l.running.size() < best->running.size())) best = &l;
      }
      if (!best) break;
      run->subs.pop_front();
      s->state = TaskState::RUNNING;
      claim_member(*s, 0, *best, out);
      continue;
    }
    std::vector<uint32_t>& picked = scratch_lanes_;
    picked.clear();
    for (uint32_t li : sub_lanes_) {
      if (picked.size() == need) break;
      if (lanes_[li]->idle()) picked.push_back(li);
    }
    if (picked.size() < need) break;
    run->subs.pop_front();
    s->state = TaskState::RUNNING;
    for (uint32_t i = 0; i < need; ++i) claim_member(*s, i, *lanes_[picked[i]], out);
  }
}

void Engine::note_blocked_group(const TaskSlot& head, const RunState& run) {
  // Only an idle reserved target with singles waiting for it counts as a stall.
  bool starving = false;
  for (const Member& m : head.members)
    starving = starving || (lanes_[m.lane]->idle() && !run.directed[m.lane].empty());
  const QueueRef ref{head.index, head.generation};
  if (!starving) {
    stall_ = StallEpisode{};
    return;
  }
  const auto now = Clock::now();
  if (stall_.head.index != ref.index || stall_.head.generation != ref.generation) {
    stall_ = StallEpisode{ref, now, false};
    return;
  }
  if (!stall_.warned && now - stall_.since >= std::chrono::duration<double>(options_.stall_warning_s)) {
    stall_.warned = true;
    spdlog::warn("group task {} of run {} has waited {:.1f} s for busy targets while singles queue for its idle "
                 "reserved targets (stall_warning_s={})", head.index, run.id,
                 std::chrono::duration<double>(now - stall_.since).count(), options_.stall_warning_s);
  }
}

void Engine::handle_event(EndpointLane& lane, const EndpointEvent& event) {
  auto it = std::find_if(lane.running.begin(), lane.running.end(),
                         [&](const EndpointLane::Running& r) { return r.dispatch_id == event.dispatch_id; });
  if (it == lane.running.end()) return;  // settled already (fabricated failure, timeout)
  const EndpointLane::Running r = *it;
  lane.running.erase(it);
  on_member_terminal(slots_.at(r.slot), r.member, event.outcome, event.message);
}

void Engine::fail_lane(EndpointLane& lane, const std::string& reason) {
  if (lane.failed()) return;
  lane.mark_failed();
  lane.failure_reason = reason;
  if (stop_requested_.load(std::memory_order_relaxed)) {
    spdlog::debug("worker {} (lane {}) stopped: {}", lane.worker_id(), lane.index(), reason);
  } else {
    spdlog::warn("worker {} (lane {}) is FAILED: {}", lane.worker_id(), lane.index(), reason);
  }
  // In-flight work ends now with ENDPOINT_FAILURE; a late real event is ignored (RT-605).
  std::vector<EndpointLane::Running> running;
  running.swap(lane.running);
  for (const auto& r : running)
    on_member_terminal(slots_.at(r.slot), r.member, Outcome::ENDPOINT_FAILURE, reason);
  fail_lane_queues(lane);
}

void Engine::fail_lane_queues(EndpointLane& lane) {
  const std::string why = fmt::format("worker {} is FAILED: {}", lane.worker_id(), lane.failure_reason);
  for (auto& run : runs_) {
    if (!lane.is_sub()) {
      auto queued = std::move(run->directed[lane.index()]);
      run->directed[lane.index()].clear();
      for (QueueRef ref : queued)
        if (TaskSlot* s = ready_slot(ref)) fail_unstarted(*s, Outcome::ENDPOINT_FAILURE, why);
      std::deque<QueueRef> keep;
      auto groups = std::move(run->groups);
      run->groups.clear();
      for (QueueRef ref : groups) {
        TaskSlot* s = ready_slot(ref);
        if (!s) continue;
        const bool names_lane = std::any_of(s->members.begin(), s->members.end(),
                                            [&](const Member& m) { return m.lane == static_cast<int32_t>(lane.index()); });
        if (names_lane) fail_unstarted(*s, Outcome::ENDPOINT_FAILURE, why);
        else keep.push_back(ref);
      }
      for (QueueRef ref : keep) run->groups.push_back(ref);
    } else if (!any_sub_lane_alive()) {
      auto queued = std::move(run->subs);
      run->subs.clear();
      for (QueueRef ref : queued)
        if (TaskSlot* s = ready_slot(ref)) fail_unstarted(*s, Outcome::ENDPOINT_FAILURE, "every SUB worker is FAILED");
    }
  }
}

std::optional<Deadline> Engine::check_task_timeouts(Clock::time_point now) {
  if (options_.task_timeout_s <= 0) return std::nullopt;
  const auto limit = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.task_timeout_s));
  std::optional<Deadline> next;
  for (auto& lane : lanes_) {
    for (size_t i = 0; i < lane->running.size(); ++i) {
      const Deadline due = lane->running[i].started + limit;
      if (due <= now) {
        const std::string reason = fmt::format("task timeout: dispatch {} ran longer than task_timeout_s={}",
                                               lane->running[i].dispatch_id, options_.task_timeout_s);
        lane->endpoint().request_stop(reason);  // its effect is uncertain: the endpoint is FAILED
        fail_lane(*lane, reason);
        break;
      }
      if (!next || due < *next) next = due;
    }
  }
  return next;
}

void Engine::scheduler_main() {
  std::vector<EndpointEvent> events;
  std::vector<std::pair<uint32_t, EndpointEvent>> arrived;
  std::vector<std::pair<uint32_t, std::string>> lane_failures;
  std::vector<PendingDispatch> to_submit;
  std::vector<std::pair<uint32_t, EndpointEvent>> refused;
  while (true) {
    const uint32_t seen = wake_.prepare();
    arrived.clear();
    lane_failures.clear();
    for (auto& lane : lanes_) {
      if (!lane->take_events()) continue;
      events.clear();
      lane->endpoint().poll(events);
      for (auto& e : events) arrived.emplace_back(lane->index(), std::move(e));
      const EndpointHealth h = lane->endpoint().health();
      if (!h.ready) lane_failures.emplace_back(lane->index(), h.reason);
    }
    const bool stopping = stop_requested_.load(std::memory_order_acquire);
    std::optional<Deadline> next_deadline;
    to_submit.clear();
    {
      std::lock_guard lock(mu_);
      ++counters_.passes;
      for (auto& [li, ev] : arrived) handle_event(*lanes_[li], ev);  // completions drain before dispatch
      for (auto& [li, reason] : lane_failures) fail_lane(*lanes_[li], reason);
      for (auto& [li, ev] : refused) handle_event(*lanes_[li], ev);
      refused.clear();
      if (stopping) {
        for (auto& lane : lanes_) fail_lane(*lane, "the Worker is closing");
        break;
      }
      dispatch_ready(to_submit);
      // After dispatch, so the deadline of a task handed off in this pass is waited on too.
      next_deadline = check_task_timeouts(Clock::now());
      if (stall_.head.index != UINT32_MAX && !stall_.warned) {
        const Deadline due = stall_.since + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(options_.stall_warning_s));
        if (!next_deadline || due < *next_deadline) next_deadline = due;
      }
    }
    for (auto& pd : to_submit) {
      EndpointLane& lane = *lanes_[pd.lane];
      try {
        lane.endpoint().submit(pd.request);
      } catch (const std::exception& e) {
        // A refused hand-off fails the already-claimed member, never the Scheduler (RT-606).
        refused.emplace_back(pd.lane, EndpointEvent{pd.request.dispatch_id, Outcome::ENDPOINT_FAILURE,
                                                    fmt::format("endpoint refused the dispatch: {}", e.what())});
      }
      if (lane.handoffs_in_progress.fetch_sub(1, std::memory_order_acq_rel) == 1) lane.handoffs_in_progress.notify_all();
    }
    // Anything that arrived during this pass moved the epoch past `seen`, so wait() returns at
    // once; only refused hand-offs (settled here, not by an endpoint) need another pass.
    if (!refused.empty()) continue;
    wake_.wait(seen, next_deadline);
  }
}

}  // namespace echelon
