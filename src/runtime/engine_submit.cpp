// The Orchestrator's side of the engine: validate, reserve, infer dependencies, publish (RT-301).
#include <algorithm>
#include <cstring>

#include "echelon/errors.h"
#include "fmt/format.h"
#include "runtime/engine.h"
#include "runtime/remote_args.h"

namespace echelon {

struct Engine::Prepared {
  CallableRegistry::Resolved resolved;
  std::vector<int> member_lanes;
  uint64_t heap_bytes = 0;  // unbound OUTPUT slabs, HEAP_ALIGN-rounded
  // References on the remote buffers the members name, captured after every check passed; a
  // submit that fails later drops them when Prepared goes away (buffers.md 4 "no trace").
  detail::RemoteSlotRefs remote_refs;
  // One reference per remote member on its (worker, hashid) dispatcher pair (callables.md 7): a
  // final unregister waits for these before UNREGISTER_CALLABLE goes out.
  detail::PairSlotRefs pair_refs;
};

namespace {

uint64_t slab_bytes(const Tensor& t) { return (t.extent_bytes() + HEAP_ALIGN - 1) / HEAP_ALIGN * HEAP_ALIGN; }

bool grant_covers(AccessMode have, AccessMode need) {
  return (!grants_read(need) || grants_read(have)) && (!grants_write(need) || grants_write(have));
}

}  // namespace

void Engine::throw_if_failed(const RunState& run) const {
  if (run.failed) throw RunError(run.root_error);
}

std::string Engine::eligible_set(const CallableRegistry::Resolved& handle, const TaskArgs& args) const {
  std::string out;
  for (uint32_t lane : next_level_lanes_) {
    const EndpointLane& l = *lanes_[lane];
    if (l.failed() || !handle.runs_on(lane)) continue;
    if (!args.remote().empty()) {
      if (remote_args_consumable_by(args, l.caps(), remote_issuer_)) out += fmt::format("{}{}", out.empty() ? "" : ", ", l.worker_id());
      continue;
    }
    bool data_ok = true;
    for (size_t i = 0; i < args.tensor_count() && data_ok; ++i)
      data_ok = !args.tensor(i).bound() ? !l.caps().remote
                                        : l.caps().consumes(args.tensor(i).buffer) &&
                                              (args.tensor(i).buffer.backend_kind != BackendKind::DEVICE_MALLOC ||
                                               static_cast<WorkerId>(args.tensor(i).buffer.owner_worker_path_id) ==
                                                   l.worker_id());
    if (data_ok) out += fmt::format("{}{}", out.empty() ? "" : ", ", l.worker_id());
  }
  return "{" + out + "}";
}

void Engine::validate_member(const SubmitSpec& spec, const CallableRegistry::Resolved& handle, size_t m, int lane) const {
  const CallableRegistry::Record& rec = *handle.record;
  const TaskArgs& args = spec.args[m];
  const WorkerId target = spec.is_sub ? kNoWorker : spec.targets[m];
  auto reject = [&](const std::string& why) {
    std::string where = spec.is_sub ? fmt::format("member {}", m) : fmt::format("member {} target {}", m, target);
    std::string eligible = spec.is_sub ? "" : fmt::format("; eligible workers {}", eligible_set(handle, args));
    throw SubmitError(fmt::format("{} rejected: {} callable {}: {}{}", spec.api, where, rec.identity.hashid(), why, eligible));
  };
  const EndpointCaps* caps = lane >= 0 ? &lanes_[lane]->caps() : nullptr;
  const bool remote_target = caps && caps->kind == EndpointKind::REMOTE_L3;
  // Sidecars travel only to remote workers: the local mailbox cannot carry them (buffers.md 4).
  if (!args.remote().empty() && !remote_target)
    reject("RemoteTensorRef is only valid for NEXT_LEVEL submits to remote workers");
  if (!spec.is_sub) {
    const EndpointLane& l = *lanes_[lane];
    if (l.failed()) reject(fmt::format("worker {} is FAILED", target));
    if (!handle.runs_on(static_cast<uint32_t>(lane)))
      reject(handle.scope ? fmt::format("worker {} is not one of the workers the handle was registered for", target)
                          : fmt::format("callable not installed on worker {}", target));
  }
  for (size_t i = 0; i < args.tensor_count(); ++i) {
    const Tensor& t = args.tensor(i);
    const TensorTag tag = args.tag(i);
    try {
      t.validate();
    } catch (const ValidationError& e) {
      reject(fmt::format("tensor {}: {}", i, e.what()));
    }
    if (remote_target) {
      // Every argument of a remote task is a placeholder with a sidecar; its access, liveness and
      // eligibility come from the handle, never from a local backing.
      if (std::string why = remote_arg_problem(args, i, *caps, remote_issuer_); !why.empty()) reject(why);
      continue;
    }
    if (!t.bound()) {
      if (tag != TensorTag::OUTPUT) reject(fmt::format("tensor {} is unbound; only an OUTPUT may be unbound", i));
      if (caps && caps->remote) reject(fmt::format("tensor {} is an unbound OUTPUT for remote worker {}; remote outputs need a remote buffer", i, target));
      continue;
    }
    const BufferDescriptor& b = t.buffer;
    if (!grant_covers(b.access, required_access(tag)))
      reject(fmt::format("tensor {} is tagged {} but its backing grants only {}", i, to_string(tag), to_string(b.access)));
    if (spec.is_sub) {
      if (b.address_space == AddressSpace::DEVICE || b.backend_kind == BackendKind::REMOTE_SIDECAR)
        reject(fmt::format("tensor {} is a {} {} backing; SUB tasks take host memory only", i, to_string(b.address_space),
                           to_string(b.backend_kind)));
    } else if (!caps->consumes(b)) {
      reject(fmt::format("tensor {} ({} in {} space) cannot be consumed by worker {}", i, to_string(b.backend_kind),
                         to_string(b.address_space), target));
    } else if (b.backend_kind == BackendKind::DEVICE_MALLOC && static_cast<WorkerId>(b.owner_worker_path_id) != target) {
      reject(fmt::format("tensor {} is device memory of chip {}", i, b.owner_worker_path_id));
    }
  }
  // Two writes to overlapping bytes within one task are rejected (RT-206).
  for (size_t i = 0; i < args.tensor_count(); ++i) {
    if (!tag_writes(args.tag(i)) || !args.tensor(i).bound()) continue;
    const Footprint fi = dependency_footprint(args, args.tensor(i), i);
    for (size_t j = i + 1; j < args.tensor_count(); ++j) {
      if (!tag_writes(args.tag(j)) || !args.tensor(j).bound()) continue;
      if (!(args.tensor(j).buffer.identity == args.tensor(i).buffer.identity)) continue;
      if (relate(fi, dependency_footprint(args, args.tensor(j), j)) != Overlap::NONE)
        reject(fmt::format("tensors {} and {} write overlapping bytes of one backing", i, j));
    }
  }
}

void Engine::validate(const SubmitSpec& spec, Prepared& out) const {
  if (!started_) throw UsageError(fmt::format("{}: the Worker is not initialised; call init() first", spec.api));
  if (spec.args.empty()) throw SubmitError(fmt::format("{} rejected: a task needs at least one member", spec.api));
  out.resolved = registry_.resolve(*spec.handle);
  const auto& rec = *out.resolved.record;
  if (spec.is_sub) {
    if (rec.entry_kind != EntryKind::SUB)
      throw SubmitError(fmt::format("{} rejected: callable {} ('{}') is an orchestration entry; SUB tasks run sub entries",
                                    spec.api, rec.identity.hashid(), rec.name));
    if (sub_lanes_.empty()) throw SubmitError(fmt::format("{} rejected: this Worker has no SUB workers", spec.api));
    if (spec.args.size() > sub_lanes_.size())
      throw SubmitError(fmt::format("{} rejected: a group of {} needs {} SUB workers, this Worker has {}", spec.api,
                                    spec.args.size(), spec.args.size(), sub_lanes_.size()));
  } else {
    spec.config->validate();
    if (spec.targets.size() != spec.args.size())
      throw SubmitError(fmt::format("{} rejected: {} targets for {} argument sets", spec.api, spec.targets.size(),
                                    spec.args.size()));
    for (size_t m = 0; m < spec.targets.size(); ++m) {
      const WorkerId id = spec.targets[m];
      const int lane = id < 0 ? -1 : lane_of(id);
      if (lane < 0)
        throw SubmitError(fmt::format("{} rejected: member {} target {} is not a NEXT_LEVEL worker of this level-{} Worker",
                                      spec.api, m, id, level_));
      for (size_t k = 0; k < m; ++k)
        if (spec.targets[k] == id)
          throw SubmitError(fmt::format("{} rejected: worker {} appears twice in the group (members {} and {})", spec.api,
                                        id, k, m));
      out.member_lanes.push_back(lane);
    }
  }
  for (size_t m = 0; m < spec.args.size(); ++m) {
    validate_member(spec, out.resolved, m, spec.is_sub ? -1 : out.member_lanes[m]);
    for (size_t i = 0; i < spec.args[m].tensor_count(); ++i)
      if (!spec.args[m].tensor(i).bound()) out.heap_bytes += slab_bytes(spec.args[m].tensor(i));
  }
  if (out.heap_bytes > options_.heap_ring_bytes)
    throw SubmitError(fmt::format("{} rejected: unbound OUTPUTs need {} bytes, more than a heap ring ({} bytes, "
                                  "WorkerOptions::heap_ring_bytes)", spec.api, out.heap_bytes, options_.heap_ring_bytes));
  // Last check, and the first effect: capture one reference per named handle. A handle released
  // since the checks above fails here; the references already taken drop with `out`.
  for (size_t m = 0; m < spec.args.size(); ++m) {
    const RemoteArgs& remote = spec.args[m].remote();
    for (size_t i = 0; i < remote.handles.size(); ++i)
      if (remote.handles[i] && !out.remote_refs.capture(remote.handles[i]))
        throw SubmitError(fmt::format("{} rejected: member {} remote tensor {}: handle was released", spec.api, m, i));
  }
  if (rec.identity.scope == TargetNamespace::REMOTE_TASK_DISPATCHER && !spec.is_sub) {
    for (size_t m = 0; m < spec.targets.size(); ++m) {
      std::string why;
      auto pair = registry_.pairs().capture_slot(
          RemotePairKey{RemoteRegistry::DISPATCHER, spec.targets[m], rec.identity.digest}, why);
      if (!pair) throw SubmitError(fmt::format("{} rejected: member {} target {}: {}", spec.api, m, spec.targets[m], why));
      out.pair_refs.hold(registry_.pairs(), std::move(pair));
    }
  }
}

TaskSlot& Engine::reserve(std::unique_lock<std::mutex>& lock, RunState& run, uint64_t heap_bytes, int ring,
                          HeapSlab& slab) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options_.alloc_timeout_s));
  while (true) {
    if (closing_) throw UsageError("submit: the Worker is closing");
    throw_if_failed(run);
    const bool slot_free = slots_.in_use() < slots_.capacity();
    std::optional<uint64_t> offset;
    if (slot_free && heap_bytes > 0) offset = heap_rings_[ring]->allocate(heap_bytes);
    if (slot_free && (heap_bytes == 0 || offset)) {
      TaskSlot* s = slots_.try_acquire();
      if (offset) slab = HeapSlab{ring, *offset};
      return *s;
    }
    ++space_waiters_;
    const bool woke = space_cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    --space_waiters_;
    if (!woke && Clock::now() >= deadline) {
      if (!slot_free)
        throw BackPressureTimeout(fmt::format("slot pool full: all {} task slots live for {} s; raise "
                                              "WorkerOptions::max_live_tasks or alloc_timeout_s, or end scopes sooner",
                                              slots_.capacity(), options_.alloc_timeout_s));
      throw BackPressureTimeout(fmt::format("heap ring {} full: {} of {} bytes live, {} more needed for {} s; raise "
                                            "WorkerOptions::heap_ring_bytes or alloc_timeout_s", ring,
                                            heap_rings_[ring]->used(), heap_rings_[ring]->capacity(), heap_bytes,
                                            options_.alloc_timeout_s));
    }
  }
}

void Engine::wire_dependencies(RunState& run, TaskSlot& slot, const std::vector<TaskArgs>& args, bool& poisoned,
                               uint32_t& poison_source) {
  auto& edges = scratch_edges_;
  edges.clear();
  auto add = [&](uint32_t producer, EdgeKind kind) {
    if (producer == slot.index) return;
    for (auto& e : edges) {
      if (e.first == producer) {
        if (kind == EdgeKind::DATA) e.second = EdgeKind::DATA;
        return;
      }
    }
    edges.emplace_back(producer, kind);
  };
  // Lookups over the union of member args first, then inserts, so a task never depends on itself.
  for (size_t mi = 0; mi < slot.members.size(); ++mi) {
    const Member& m = slot.members[mi];
    for (size_t i = 0; i < m.tensors.size(); ++i) {
      const TensorTag tag = args[mi].tag(i);
      if (tag == TensorTag::NO_DEP || !tracks_dependencies(args[mi], i)) continue;
      // Remote arguments: key = the owner identity in the placeholder, footprint at desc.offset.
      const Footprint fp = dependency_footprint(args[mi], m.tensors[i], i);
      const bool reads = tag_reads(tag), writes = tag_writes(tag);
      run.tensor_map.for_each_overlap(m.tensors[i].buffer.identity, fp, [&](const TensorMap::Entry& e) {
        if (e.write && reads) add(e.slot, EdgeKind::DATA);  // RAW
        else if (writes) add(e.slot, EdgeKind::ORDER);       // WAW / WAR
      });
    }
  }
  for (auto [p, kind] : edges) {
    TaskSlot& producer = slots_.at(p);
    if (producer.state == TaskState::FAILED && kind == EdgeKind::DATA && !poisoned) {
      poisoned = true;
      poison_source = p;
    }
    if (!producer.terminal()) ++slot.live_fanin;
    producer.consumers.push_back(Edge{slot.index, kind});
    ++producer.fanout_total;
    slot.producers.push_back(p);
  }
  // Tags are consumed here: the member keeps only tensors, so none reaches an endpoint (RT-207).
  for (size_t mi = 0; mi < slot.members.size(); ++mi) {
    const Member& m = slot.members[mi];
    for (size_t i = 0; i < m.tensors.size(); ++i) {
      const Tensor& t = m.tensors[i];
      const TensorTag tag = args[mi].tag(i);
      if (tag == TensorTag::NO_DEP || !tracks_dependencies(args[mi], i)) continue;
      const uint64_t id = run.tensor_map.insert(t.buffer.identity, dependency_footprint(args[mi], t, i), slot.index,
                                                tag_writes(tag));
      slot.map_entries.push_back(OwnedEntry{t.buffer.identity, id});
    }
  }
}

SubmitResult Engine::submit(RunState& run, SubmitSpec&& spec) {
  Prepared prep;
  validate(spec, prep);  // step 1 mutates nothing

  std::unique_lock lock(mu_);
  throw_if_failed(run);  // step 2
  if (run.submission_closed) throw UsageError(fmt::format("{}: run {} no longer accepts tasks", spec.api, run.id));
  const int ring = static_cast<int>(std::min<size_t>(run.scopes.size() - 1, MAX_RING_DEPTH - 1));
  HeapSlab slab;
  TaskSlot& slot = reserve(lock, run, prep.heap_bytes, ring, slab);  // step 3

  slot.state = TaskState::BUILDING;
  slot.run = &run;
  slot.heap = slab;
  slot.remote_refs = std::move(prep.remote_refs);
  slot.pair_refs = std::move(prep.pair_refs);
  slot.is_sub = spec.is_sub;
  slot.is_group = spec.is_group;
  slot.callable = prep.resolved.record->identity;
  if (!spec.is_sub) slot.config = *spec.config;
  ++run.live;
  ++counters_.submitted;

  // Step 4: the scope reference.
  run.scopes.back().push_back(slot.index);
  ++slot.fanout_total;

  // Step 5/6: move args in, materialise unbound OUTPUTs from the slab.
  SubmitResult result;
  uint64_t carve = slab.offset;
  slot.members.resize(spec.args.size());
  for (size_t m = 0; m < spec.args.size(); ++m) {
    Member& mem = slot.members[m];
    TaskArgs& args = spec.args[m];
    mem.target = spec.is_sub ? kNoWorker : spec.targets[m];
    mem.lane = spec.is_sub ? -1 : prep.member_lanes[m];
    mem.state = MemberState::NOT_DISPATCHED;
    mem.tensors.assign(args.tensors().begin(), args.tensors().end());
    mem.scalars.assign(args.scalars().begin(), args.scalars().end());
    mem.remote = args.remote();
    for (size_t i = 0; i < mem.tensors.size(); ++i) {
      Tensor& t = mem.tensors[i];
      if (!t.bound()) {
        const uint64_t bytes = slab_bytes(t);
        const uint64_t base = reinterpret_cast<uint64_t>(heap_rings_[slab.ring]->base()) + carve;
        t.buffer = make_address_descriptor(BackendKind::FORK_SHM, AddressSpace::HOST, AccessMode::READWRITE,
                                           new_local_identity(), bytes, base);
        t.byte_offset = 0;
        carve += bytes;
        result.outputs.push_back(t);
      }
    }
  }

  // Step 7: fanout edges (one lock: a producer completing concurrently is counted exactly once).
  bool poisoned = false;
  uint32_t poison_source = 0;
  wire_dependencies(run, slot, spec.args, poisoned, poison_source);

  // Step 8/9: publish and route.
  result.task = TaskRef{run.id, slot.index, slot.generation};
  bool wake = false;
  if (poisoned) {
    const TaskSlot& src = slots_.at(poison_source);
    fail_unstarted(slot, Outcome::SKIPPED,
                   fmt::format("poisoned by task {} of run {}: {}", src.index, run.id, src.error));
  } else if (slot.live_fanin > 0) {
    slot.state = TaskState::PENDING;
  } else {
    slot.state = TaskState::READY;
    route(slot);
    wake = true;
  }
  lock.unlock();
  if (wake) wake_.notify();
  return result;
}

Tensor Engine::alloc(RunState& run, std::span<const uint32_t> shape, DataType dtype) {
  if (!started_) throw UsageError("alloc: the Worker is not initialised; call init() first");
  Tensor t = Tensor::unbound(shape, dtype);
  const uint64_t bytes = slab_bytes(t);
  if (bytes > options_.heap_ring_bytes)
    throw SubmitError(fmt::format("alloc rejected: {} bytes exceed a heap ring ({} bytes)", bytes, options_.heap_ring_bytes));
  std::unique_lock lock(mu_);
  throw_if_failed(run);
  const int ring = static_cast<int>(std::min<size_t>(run.scopes.size() - 1, MAX_RING_DEPTH - 1));
  HeapSlab slab;
  TaskSlot& slot = reserve(lock, run, bytes, ring, slab);
  slot.run = &run;
  slot.heap = slab;
  slot.synthetic = true;
  slot.state = TaskState::COMPLETED;  // born as the completed writer of the whole backing
  ++run.live;
  run.scopes.back().push_back(slot.index);
  slot.fanout_total = 1;     // scope reference
  slot.fanout_released = 1;  // its own release happened at birth
  const uint64_t base = reinterpret_cast<uint64_t>(heap_rings_[ring]->base()) + slab.offset;
  t.buffer = make_address_descriptor(BackendKind::FORK_SHM, AddressSpace::HOST, AccessMode::READWRITE,
                                     new_local_identity(), bytes, base);
  const uint64_t id = run.tensor_map.insert(t.buffer.identity, Footprint::of(t), slot.index, true);
  slot.map_entries.push_back(OwnedEntry{t.buffer.identity, id});
  return t;
}

size_t Engine::open_scope(RunState& run) {
  std::lock_guard lock(mu_);
  if (run.scopes.size() >= MAX_SCOPE_DEPTH)
    throw UsageError(fmt::format("scope: depth limit {} reached (including the run's outer scope)", MAX_SCOPE_DEPTH));
  run.scopes.emplace_back();
  return run.scopes.size() - 1;
}

void Engine::close_scope(RunState& run, size_t depth) {
  std::lock_guard lock(mu_);
  // Ending a scope also ends any inner scope still open above it.
  while (run.scopes.size() > depth) {
    std::vector<uint32_t> frame = std::move(run.scopes.back());
    run.scopes.pop_back();
    for (uint32_t idx : frame) release_ref(slots_.at(idx));
  }
}

size_t Engine::scope_depth(RunState& run) {
  std::lock_guard lock(mu_);
  return run.scopes.size();
}

TaskState Engine::state_of(const RunState& run, const TaskRef& ref) {
  std::lock_guard lock(mu_);
  if (ref.run_id != run.id) throw UsageError(fmt::format("TaskRef of run {} used in run {}", ref.run_id, run.id));
  if (!slots_.contains(ref.slot_index)) throw UsageError(fmt::format("TaskRef slot {} does not exist", ref.slot_index));
  const TaskSlot& s = slots_.at(ref.slot_index);
  // Consumed and freed (perhaps reused since): this task is gone.
  if (s.generation != ref.generation || s.state == TaskState::FREE) return TaskState::CONSUMED;
  return s.state;
}

}  // namespace echelon
