// Terminal outcomes, poisoning and consumption (runtime.md 3.5, section 8).
#include "echelon/errors.h"
#include "fmt/format.h"
#include "runtime/engine.h"
#include "spdlog/spdlog.h"

namespace echelon {
namespace {
constexpr size_t kMaxErrorBytes = 4096;
}

std::string Engine::root_error_text(const TaskSlot& slot, uint32_t member, Outcome outcome,
                                    const std::string& msg) const {
  const Member& m = slot.members[member];
  const EndpointLane* lane = m.lane >= 0 ? lanes_[m.lane].get() : nullptr;
  const std::string worker = slot.is_sub ? (lane ? fmt::format("sub{}", lane->index()) : std::string("sub"))
                                         : fmt::format("{}", m.target);
  return truncate_utf8(fmt::format("[host={} worker={} level={} callable={} seq={} run={} slot={}] {}: {}",
                                   lane ? lane->caps().host : "local", worker,
                                   lane ? lane->caps().level : level_ - 1, slot.callable.hashid(), m.dispatch_id,
                                   slot.run->id, slot.index, to_string(outcome), msg),
                       kMaxErrorBytes);
}

void Engine::record_failure(RunState& run, const std::string& message) {
  if (!run.failed) {
    run.failed = true;
    run.root_error = message;
    spdlog::debug("run {} failed: {}", run.id, message);
  } else {
    spdlog::debug("run {}: further failure (root error kept): {}", run.id, message);
  }
}

void Engine::on_member_terminal(TaskSlot& slot, uint32_t member, Outcome outcome, const std::string& message) {
  if (member >= slot.members.size()) {
    fail_unstarted(slot, Outcome::ENDPOINT_FAILURE, fmt::format("completion names member {} of a {}-member task",
                                                                member, slot.members.size()));
    return;
  }
  Member& m = slot.members[member];
  if (m.state != MemberState::RUNNING) return;  // already settled
  m.state = outcome == Outcome::SUCCESS ? MemberState::SUCCESS : MemberState::FAILED;
  ++slot.terminal_members;
  if (outcome != Outcome::SUCCESS && slot.first_failed_member < 0) {
    slot.first_failed_member = static_cast<int32_t>(member);
    slot.error = root_error_text(slot, member, outcome, message);
    for (Member& other : slot.members) {
      if (other.state == MemberState::NOT_DISPATCHED) {
        other.state = MemberState::SKIPPED;  // never dispatched after the first failure (RT-803)
        ++slot.terminal_members;
      }
    }
  }
  if (slot.terminal_members == slot.members.size()) {
    slot.state = slot.first_failed_member >= 0 ? TaskState::FAILED : TaskState::COMPLETED;
    finish(slot);
  }
}

void Engine::fail_unstarted(TaskSlot& slot, Outcome outcome, const std::string& message) {
  if (slot.state != TaskState::BUILDING && slot.state != TaskState::PENDING && slot.state != TaskState::READY) return;
  for (Member& m : slot.members) m.state = MemberState::SKIPPED;
  slot.terminal_members = static_cast<uint32_t>(slot.members.size());
  slot.first_failed_member = 0;
  slot.error = outcome == Outcome::SKIPPED ? message : root_error_text(slot, 0, outcome, message);
  slot.state = TaskState::FAILED;
  finish(slot);
}

void Engine::finish(TaskSlot& first) {
  retire_worklist_.push_back(first.index);
  if (in_finish_) return;  // re-entered through route(): the outer loop picks it up
  in_finish_ = true;
  while (!retire_worklist_.empty()) {
    TaskSlot& s = slots_.at(retire_worklist_.back());
    retire_worklist_.pop_back();
    RunState& run = *s.run;
    const bool failed = s.state == TaskState::FAILED;
    if (failed) {
      ++counters_.failed;
      record_failure(run, s.error);
    } else {
      ++counters_.completed;
    }
    for (const Edge& e : s.consumers) {
      TaskSlot& c = slots_.at(e.consumer);
      if (c.state != TaskState::PENDING && c.state != TaskState::READY) continue;
      if (failed && e.kind == EdgeKind::DATA) {
        // Poisoned: never dispatched, still releases every reference (RT-802/806).
        for (Member& m : c.members) m.state = MemberState::SKIPPED;
        c.terminal_members = static_cast<uint32_t>(c.members.size());
        c.first_failed_member = 0;
        c.error = truncate_utf8(fmt::format("poisoned by task {} of run {}: {}", s.index, run.id, s.error), kMaxErrorBytes);
        c.state = TaskState::FAILED;
        retire_worklist_.push_back(c.index);
      } else if (c.state == TaskState::PENDING && --c.live_fanin == 0) {
        c.state = TaskState::READY;
        route(c);
      }
    }
    ++s.fanout_released;  // the slot's own release at terminal
    for (uint32_t p : s.producers) release_ref(slots_.at(p));
    if (s.fanout_released >= s.fanout_total + 1) consume(s);
  }
  in_finish_ = false;
}

void Engine::release_ref(TaskSlot& slot) {
  ++slot.fanout_released;
  if (slot.terminal() && slot.fanout_released >= slot.fanout_total + 1) consume(slot);
}

void Engine::consume(TaskSlot& slot) {
  RunState& run = *slot.run;
  slot.state = TaskState::CONSUMED;
  for (const OwnedEntry& e : slot.map_entries) run.tensor_map.erase(e.key, e.entry_id);
  if (slot.heap.ring >= 0) heap_rings_[slot.heap.ring]->release(slot.heap.offset);
  // A free owed on one of these buffers becomes sendable here; the Worker sends it at its next
  // flush point, never under this lock (remote_memory.h).
  slot.remote_refs.release_all();
  slot.pair_refs.release_all();  // a final UNREGISTER_CALLABLE may become due (callables.md 7)
  slots_.release(slot);
  --run.live;
  if (space_waiters_ > 0) space_cv_.notify_all();
  check_run_terminal(run);
}

void Engine::check_run_terminal(RunState& run) {
  if (run.terminal || !run.submission_closed || run.live != 0) return;
  run.terminal = true;
  while (!runs_.empty() && runs_.front()->terminal) {
    const std::shared_ptr<RunState>& done = runs_.front();
    if ((done->failed || done->fn_error) && !done->waited) failed_unwaited_.push_back(done);
    runs_.pop_front();
  }
  // Those whose handle was waited on since reported their error there.
  std::erase_if(failed_unwaited_, [](const std::shared_ptr<RunState>& r) { return r->waited; });
  run_cv_.notify_all();
  wake_.notify();  // the next run's ready work may dispatch now (RT-321)
}

void Engine::cancel_unstarted(RunState& run) {
  const std::string why = fmt::format("cancelled: {}", run.root_error);
  slots_.for_each_built([&](TaskSlot& s) {
    if (s.run == &run) fail_unstarted(s, Outcome::SKIPPED, why);
  });
}

}  // namespace echelon
