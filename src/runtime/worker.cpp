#include "echelon/worker.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "echelon/errors.h"
#include "chip/device_arena.h"
#include "chip/private_dir.h"
#include "runtime/child_services.h"
#include "endpoint/inprocess_endpoint.h"
#include "endpoint/local_mailbox_endpoint.h"
#include "endpoint/remote_l3_endpoint.h"
#include "fmt/format.h"
#include "runtime/engine.h"
#include "runtime/remote_callables.h"
#include "runtime/remote_memory.h"
#include "spdlog/spdlog.h"

namespace echelon {
namespace {

std::atomic<uint64_t> g_next_owner_token{1};

Deadline after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::vector<uint8_t> digest_bytes(const Digest& d) { return std::vector<uint8_t>(d.begin(), d.end()); }

// Remote registrations reach their workers through the engine's control path, ordered with TASKs.
class EngineControlPort final : public ControlPort {
 public:
  explicit EngineControlPort(Engine& engine) : engine_(engine) {}
  ControlReply control(WorkerId worker, const ControlRequest& request, Deadline deadline) override {
    return engine_.control(static_cast<uint32_t>(engine_.lane_of(worker)), request, deadline);
  }
  bool failed(WorkerId worker) const override {
    const int lane = engine_.lane_of(worker);
    return lane < 0 || engine_.lane(static_cast<uint32_t>(lane)).failed();
  }

 private:
  Engine& engine_;
};

}  // namespace

struct Worker::Impl {
  Impl(int level, const WorkerOptions& opts)
      : level(level),
        options(opts),
        registry(g_next_owner_token.fetch_add(1)),
        engine(level, options, registry),
        remote_memory(engine, options.control_timeout_s),
        control_port(engine),
        remote_callables(control_port, registry, remote_wiring(), options.control_timeout_s) {
    // Each wait for a run is a flush point of owed remote frees (remote_memory.h) and of final
    // unregisters held back by task slots (remote_callables.h).
    engine.set_run_waited_hook([this] {
      remote_memory.flush_due();
      remote_callables.flush_due(false);
    });
  }

  int level;
  WorkerOptions options;
  CallableRegistry registry;
  Engine engine;
  RemoteMemory remote_memory;
  EngineControlPort control_port;
  RemoteCallables remote_callables;
  std::vector<std::shared_ptr<Worker>> threaded;  // nested Workers on threads of this process
  std::vector<std::shared_ptr<Worker>> forked;    // nested Workers living in child processes
  uint32_t sub_count = 0;
  WorkerId next_worker_id = 0;
  bool initialized = false;
  bool closed = false;
  std::mutex submit_mu;  // one thread submits into a Worker at a time
  std::vector<CallableIdentity> pending;  // registered before init, installed by init
  std::map<WorkerId, std::unique_ptr<chip::DeviceArena>> arenas;  // mapped before fork, shared with chips
  std::mutex arena_mu;
  // Remote children by worker id; the engine's lanes own them. Registrations before init add
  // dispatcher entries to their manifests.
  std::map<WorkerId, RemoteL3Endpoint*> remotes;
  // Chip blobs are handed to chip children by path, staged once in a private directory.
  struct StagedBlob {
    std::string path;
    Digest sha256;
  };
  std::unique_ptr<chip::PrivateDir> staging;
  std::map<Digest, StagedBlob> staged;

  ControlRequest install_request(const CallableIdentity& id) const {
    if (id.kind == CallableKind::CHIP_CALLABLE) {
      const StagedBlob& b = staged.at(id.digest);
      return ControlRequest{"register_chip", encode_chip_registration(id.digest, b.sha256, b.path)};
    }
    return ControlRequest{"register", digest_bytes(id.digest)};
  }
  static ControlRequest uninstall_request(const CallableIdentity& id) {
    return ControlRequest{id.kind == CallableKind::CHIP_CALLABLE ? "unregister_chip" : "unregister", digest_bytes(id.digest)};
  }

  RemoteCallables::Wiring remote_wiring() {
    RemoteCallables::Wiring w;
    w.lane_of = [this](WorkerId id) { return static_cast<uint32_t>(engine.lane_of(id)); };
    w.add_manifest_entry = [this](WorkerId id, RemoteRegistry registry, const RemoteCallable& callable) {
      if (registry == RemoteRegistry::DISPATCHER) remotes.at(id)->add_dispatcher_entry(callable);
      else remotes.at(id)->add_inner_entry(callable);
    };
    return w;
  }

  // CALL-12: a remote registration names its workers explicitly; nothing is sent for a bad list.
  void check_remote_workers(const char* api, const RemoteCallable& callable, const std::vector<WorkerId>& workers) const {
    const std::string what = callable.kind() == CallableKind::NATIVE_IMPORT ? callable.target() : callable.hashid();
    if (closed) throw UsageError(fmt::format("{}: the Worker is closed", api));
    if (level < 4)
      throw UsageError(fmt::format("{}: {} needs a level >= 4 Worker with remote workers; this one is level {}", api,
                                   what, level));
    if (remote_worker_count() == 0)
      throw UsageError(fmt::format("{}: {}: no remote worker was added (add_remote_worker) to register it on", api, what));
    if (workers.empty())
      throw UsageError(fmt::format("{}: {} needs an explicit, non-empty list of remote workers (there is no implicit "
                                   "broadcast)", api, what));
    std::set<WorkerId> seen;
    for (WorkerId w : workers) {
      if (w < 0) throw UsageError(fmt::format("{}: {}: worker id {} is negative", api, what, w));
      if (!seen.insert(w).second) throw UsageError(fmt::format("{}: {} lists worker {} twice", api, what, w));
      if (!is_remote(w))
        throw UsageError(fmt::format("{}: worker {} is not a remote worker of this Worker ({})", api, w, what));
      // Before init a registration travels in the bootstrap manifest, which only sessions opened
      // by add_remote_worker have; other remote endpoints take registrations after init().
      if (!initialized && !remotes.contains(w))
        throw UsageError(fmt::format("{}: worker {} has no bootstrap manifest; register {} on it after init()", api, w,
                                     what));
    }
  }

  // Remote workers: every NEXT_LEVEL endpoint of kind REMOTE_L3 (sessions of add_remote_worker, or
  // endpoints added with add_endpoint that speak the same contract).
  bool is_remote(WorkerId id) const {
    const int lane = engine.lane_of(id);
    return lane >= 0 && engine.lane(static_cast<uint32_t>(lane)).caps().kind == EndpointKind::REMOTE_L3;
  }
  size_t remote_worker_count() const {
    size_t n = 0;
    for (WorkerId id = 0; id < next_worker_id; ++id) n += is_remote(id) ? 1 : 0;
    return n;
  }

  chip::DeviceArena& arena_of(const BufferDescriptor& d) {
    if (!d.bound() || d.backend_kind != BackendKind::DEVICE_MALLOC)
      throw ValidationError("chip memory: the descriptor is not a DEVICE_MALLOC backing");
    auto it = arenas.find(static_cast<WorkerId>(d.owner_worker_path_id));
    if (it == arenas.end())
      throw ValidationError(fmt::format("chip memory: worker {} is not a chip of this Worker", d.owner_worker_path_id));
    return *it->second;
  }
  // The caller's descriptor is not trusted: the bytes must lie inside its chip's arena.
  std::byte* device_bytes(const BufferDescriptor& d, uint64_t offset, uint64_t n) {
    const chip::DeviceArena& arena = arena_of(d);
    if (offset > d.nbytes || n > d.nbytes - offset)
      throw ValidationError(fmt::format("chip memory: range [{}, +{}) is outside the {}-byte buffer", offset, n, d.nbytes));
    const uint64_t base = reinterpret_cast<uint64_t>(arena.base());
    if (d.base_address() < base || d.base_address() - base > arena.capacity() ||
        d.nbytes > arena.capacity() - (d.base_address() - base))
      throw ValidationError(fmt::format("chip memory: buffer {} does not lie inside chip {}'s arena",
                                        d.identity.buffer_id, arena.chip_id()));
    return reinterpret_cast<std::byte*>(d.base_address()) + offset;
  }

  // A task timeout counts from hand-off, so queueing tasks behind each other would charge one
  // task's time to the next: with a timeout set, children take one task at a time.
  uint32_t pipeline_depth() const { return options.task_timeout_s > 0 ? 1 : InProcessEndpoint::kPipelineDepth; }

  void require_setup_phase(const char* what) const {
    if (initialized || closed) throw UsageError(fmt::format("{}: children must be added before init()", what));
  }

  // Lanes on which an entry of this kind installs.
  std::vector<uint32_t> install_lanes(EntryKind kind, const CallableIdentity& id) {
    std::vector<uint32_t> out;
    const EndpointRole role = kind == EntryKind::SUB ? EndpointRole::SUB : EndpointRole::NEXT_LEVEL;
    // Chip kernels install on chips, orchestration entries on Worker children: caps decide.
    for (uint32_t l : engine.lanes_with_role(role)) {
      const EndpointCaps& c = engine.lane(l).caps();
      if (c.accepts(id.scope) && c.accepts(id.kind)) out.push_back(l);
    }
    return out;
  }

  std::string lane_name(uint32_t l) {
    const EndpointCaps& c = engine.lane(l).caps();
    return c.role == EndpointRole::SUB ? fmt::format("sub{}", l) : fmt::format("worker {}", c.worker_id);
  }

  // Installs `id` on every lane or on none (callables.md 5, local registration).
  void install_everywhere(const CallableIdentity& id, const std::vector<uint32_t>& lanes, Deadline deadline) {
    std::vector<uint32_t> confirmed;
    for (uint32_t l : lanes) {
      ControlReply r = engine.control(l, install_request(id), deadline);
      if (r.ok) {
        confirmed.push_back(l);
        continue;
      }
      for (uint32_t c : confirmed) engine.control(c, uninstall_request(id), deadline);
      throw CallableError(fmt::format("REGISTER_PARTIAL_FAILURE: {} on {} ({} of {} children confirmed, rolled back): {}",
                                      id.hashid(), lane_name(l), confirmed.size(), lanes.size(), r.error));
    }
  }
};

Worker::Worker(int level, WorkerOptions options) {
  if (level < 3 || level > 6) throw ValidationError(fmt::format("Worker level {} is outside 3..6", level));
  options.validate();  // before any resource exists (RT-807)
  impl_ = std::make_unique<Impl>(level, options);
}

Worker::~Worker() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("Worker(level={}) close failed: {}", impl_->level, e.what());
  }
}

int Worker::level() const { return impl_->level; }
const WorkerOptions& Worker::options() const { return impl_->options; }
bool Worker::initialized() const { return impl_->initialized; }

WorkerId Worker::add_worker(ChildWorkerConfig config) {
  Impl& im = *impl_;
  im.require_setup_phase("add_worker");
  if (im.level < 4)
    throw UsageError(fmt::format("add_worker: a level-{} Worker cannot own Worker children; they need level >= 4 "
                                 "(chips belong to level 3)", im.level));
  auto inner = std::make_shared<Worker>(im.level - 1, config.options);
  if (config.setup) config.setup(*inner);
  const WorkerId id = im.next_worker_id++;
  EndpointCaps caps = InProcessEndpoint::default_caps(EndpointRole::NEXT_LEVEL, id, im.level - 1, im.pipeline_depth());
  if (config.isolation == ChildIsolation::THREAD) {
    if (config.child_init) config.child_init();
    auto executor = [inner](const LocalEntry& entry, const TaskArgs& args, const CallConfig& cfg) {
      inner->run(entry.orch, args, cfg);
    };
    im.engine.add_lane(std::make_unique<InProcessEndpoint>(caps, executor));
    im.threaded.push_back(std::move(inner));
  } else {
    auto factory = [inner, child_init = config.child_init] { return make_nested_worker_service(inner, child_init); };
    im.engine.add_lane(std::make_unique<LocalMailboxEndpoint>(caps, fmt::format("worker {}", id), factory));
    im.forked.push_back(std::move(inner));
  }
  return id;
}

void Worker::add_sub(ChildIsolation isolation) {
  Impl& im = *impl_;
  im.require_setup_phase("add_sub");
  const EndpointCaps caps = InProcessEndpoint::default_caps(EndpointRole::SUB, kNoWorker, im.level, im.pipeline_depth());
  const uint32_t n = im.sub_count++;
  if (isolation == ChildIsolation::THREAD) {
    auto executor = [](const LocalEntry& entry, const TaskArgs& args, const CallConfig&) { entry.sub(SubCall(args)); };
    im.engine.add_lane(std::make_unique<InProcessEndpoint>(caps, executor));
  } else {
    im.engine.add_lane(std::make_unique<LocalMailboxEndpoint>(caps, fmt::format("sub{}", n),
                                                              [] { return make_sub_service(); }));
  }
}

WorkerId Worker::add_endpoint(const std::function<std::unique_ptr<WorkerEndpoint>(WorkerId)>& factory) {
  Impl& im = *impl_;
  im.require_setup_phase("add_endpoint");
  const WorkerId id = im.next_worker_id;
  auto ep = factory(id);
  if (!ep || ep->caps().worker_id != id || ep->caps().role != EndpointRole::NEXT_LEVEL)
    throw UsageError(fmt::format("add_endpoint: the factory must return a NEXT_LEVEL endpoint with worker id {}", id));
  im.engine.add_lane(std::move(ep));
  ++im.next_worker_id;
  return id;
}

void Worker::add_sub_endpoint(const std::function<std::unique_ptr<WorkerEndpoint>()>& factory) {
  Impl& im = *impl_;
  im.require_setup_phase("add_sub_endpoint");
  auto ep = factory();
  if (!ep || ep->caps().role != EndpointRole::SUB) throw UsageError("add_sub_endpoint: the factory must return a SUB endpoint");
  im.engine.add_lane(std::move(ep));
}

WorkerId Worker::add_remote_worker(const RemoteWorkerSpec& spec) {
  Impl& im = *impl_;
  im.require_setup_phase("add_remote_worker");
  if (im.level < 4)
    throw UsageError(fmt::format("add_remote_worker: a level-{} Worker cannot own remote L3 children; they need "
                                 "level >= 4", im.level));
  const WorkerId id = im.next_worker_id;
  auto endpoint = std::make_unique<RemoteL3Endpoint>(spec, id, im.level);  // validates before anything exists
  RemoteL3Endpoint* remote = endpoint.get();
  im.engine.add_lane(std::move(endpoint));
  im.remotes.emplace(id, remote);
  im.remote_memory.set_copy_chunk(id, spec.copy_chunk_bytes);
  ++im.next_worker_id;
  return id;
}

CallableHandle Worker::register_callable(const RemoteCallable& callable, std::vector<WorkerId> workers,
                                         RegisterOptions options) {
  Impl& im = *impl_;
  im.check_remote_workers("register_callable", callable, workers);
  return im.remote_callables.register_dispatcher(callable, std::move(workers), im.initialized, options);
}

InnerRegistration Worker::register_inner(const RemoteCallable& callable, std::vector<WorkerId> workers,
                                         RegisterOptions options) {
  Impl& im = *impl_;
  im.check_remote_workers("register_inner", callable, workers);
  return im.remote_callables.register_inner(callable, std::move(workers), im.initialized, options);
}

void Worker::unregister(const InnerRegistration& registration) {
  Impl& im = *impl_;
  im.remote_callables.unregister(registration, im.initialized && !im.closed);
}

CallableState Worker::callable_state(WorkerId worker, std::string_view hashid, RemoteRegistry registry) const {
  return impl_->remote_callables.state(registry, worker, parse_hashid(hashid));
}

CallableHandle Worker::register_callable(const NativeCallable& callable) {
  Impl& im = *impl_;
  if (im.closed) throw UsageError("register_callable: the Worker is closed");
  const CallableIdentity& id = callable.identity();
  if (auto existing = im.registry.find(id.digest))
    return im.registry.issue(id, existing->entry_kind, existing->name, existing->installed_lanes);
  std::vector<uint32_t> lanes = im.install_lanes(callable.entry_kind(), id);
  // Before init the children install it at init; after init, every child confirms first.
  if (im.initialized) im.install_everywhere(id, lanes, after(im.options.control_timeout_s));
  else im.pending.push_back(id);
  return im.registry.issue(id, callable.entry_kind(), callable.name(), std::move(lanes));
}

CallableHandle Worker::register_callable(const ChipCallable& callable) {
  Impl& im = *impl_;
  if (im.closed) throw UsageError("register_callable: the Worker is closed");
  const CallableIdentity& id = callable.identity();
  if (auto existing = im.registry.find(id.digest))
    return im.registry.issue(id, existing->entry_kind, existing->name, existing->installed_lanes);
  std::vector<uint32_t> lanes = im.install_lanes(EntryKind::CHIP_KERNEL, id);
  if (lanes.empty())
    throw CallableError(fmt::format("CALLABLE_KIND_UNSUPPORTED: {} is a chip kernel and this level-{} Worker has no "
                                    "chip children", id.hashid(), im.level));
  // Chip children get the blob by path: the parent stages it once in a private directory.
  if (!im.staging) im.staging = std::make_unique<chip::PrivateDir>("echelon-stage-");
  const std::string path = im.staging->path() + "/" + to_hex(id.digest) + ".so";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(callable.blob().data()), static_cast<std::streamsize>(callable.blob().size()));
    if (!out) throw Error(fmt::format("register_callable: staging {} at {} failed", id.hashid(), path));
  }
  im.staged[id.digest] = Impl::StagedBlob{path, callable.blob_sha256()};
  if (im.initialized) im.install_everywhere(id, lanes, after(im.options.control_timeout_s));
  else im.pending.push_back(id);
  return im.registry.issue(id, EntryKind::CHIP_KERNEL, id.hashid(), std::move(lanes));
}

WorkerId Worker::add_chip(ChipConfig config) {
  Impl& im = *impl_;
  im.require_setup_phase("add_chip");
  if (im.level != 3)
    throw UsageError(fmt::format("add_chip: chips belong to level-3 Workers; this Worker is level {}", im.level));
  const WorkerId id = im.next_worker_id++;
  auto arena = std::make_unique<chip::DeviceArena>(config.arena_bytes, static_cast<uint32_t>(id));
  EndpointCaps caps;
  caps.role = EndpointRole::NEXT_LEVEL;
  caps.worker_id = id;
  caps.level = 2;
  caps.callable_kinds = {CallableKind::CHIP_CALLABLE};
  caps.scopes = {TargetNamespace::LOCAL_CHIP};
  caps.address_spaces = {AddressSpace::HOST, AddressSpace::DEVICE};
  caps.backing_kinds = {BackendKind::FORK_SHM, BackendKind::POSIX_SHM, BackendKind::FORK_COW, BackendKind::DEVICE_MALLOC};
  const chip::DeviceArena* a = arena.get();
  im.engine.add_lane(std::make_unique<LocalMailboxEndpoint>(caps, fmt::format("chip {}", id),
                                                            [a] { return make_chip_service(a); }));
  im.arenas.emplace(id, std::move(arena));
  return id;
}

BufferDescriptor Worker::chip_malloc(WorkerId chip, uint64_t nbytes) {
  Impl& im = *impl_;
  std::lock_guard lock(im.arena_mu);
  auto it = im.arenas.find(chip);
  if (it == im.arenas.end()) throw UsageError(fmt::format("chip_malloc: worker {} is not a chip of this Worker", chip));
  return it->second->alloc(nbytes);
}

void Worker::chip_free(const BufferDescriptor& device_buffer) {
  Impl& im = *impl_;
  std::lock_guard lock(im.arena_mu);
  im.arena_of(device_buffer).free(device_buffer);
}

void Worker::copy_to_chip(const BufferDescriptor& dst, uint64_t offset, const void* src, uint64_t nbytes) {
  std::lock_guard lock(impl_->arena_mu);
  std::memcpy(impl_->device_bytes(dst, offset, nbytes), src, nbytes);
}

void Worker::copy_from_chip(void* dst, const BufferDescriptor& src, uint64_t offset, uint64_t nbytes) {
  std::lock_guard lock(impl_->arena_mu);
  std::memcpy(dst, impl_->device_bytes(src, offset, nbytes), nbytes);
}

void Worker::unregister(const CallableHandle& handle) {
  Impl& im = *impl_;
  if (handle.target_namespace() == TargetNamespace::REMOTE_TASK_DISPATCHER) {
    im.remote_callables.unregister(handle, im.initialized && !im.closed);
    return;
  }
  auto last = im.registry.release(handle).last;
  if (!last || !im.initialized || im.closed) return;
  for (uint32_t l : last->installed_lanes) {
    ControlReply r = im.engine.control(l, Impl::uninstall_request(last->identity), after(im.options.control_timeout_s));
    if (!r.ok)
      spdlog::error("unregister {} on {} failed: {}", last->identity.hashid(), im.lane_name(l), r.error);
  }
}

void Worker::launch_tree(Deadline deadline) {
  impl_->remote_callables.write_manifests();  // registrations made before init()
  impl_->engine.launch(deadline);
  for (auto& child : impl_->threaded) child->launch_tree(deadline);
}

void Worker::await_tree(Deadline deadline) {
  impl_->engine.await_ready(deadline);
  for (auto& child : impl_->threaded) child->await_tree(deadline);
}

void Worker::start_tree(Deadline deadline) {
  Impl& im = *impl_;
  for (auto& child : im.threaded) child->start_tree(deadline);
  im.engine.start();
  // Registrations made before init: every child confirms them before the Worker is usable.
  for (const auto& id : im.pending) {
    auto rec = im.registry.find(id.digest);
    if (rec) im.install_everywhere(id, rec->installed_lanes, deadline);
  }
  im.pending.clear();
  im.initialized = true;
}

void Worker::init() {
  Impl& im = *impl_;
  if (im.initialized) return;
  if (im.closed) throw UsageError("init: the Worker is closed");
  const Deadline deadline = after(im.options.startup_timeout_s);
  try {
    launch_tree(deadline);  // every fork of this process's subtree happens here, before any thread
    await_tree(deadline);
    start_tree(deadline);
  } catch (const std::exception& e) {
    close();
    throw Error(fmt::format("init of level-{} Worker failed (everything started was rolled back): {}", im.level,
                            e.what()));
  }
}

RunHandle Worker::submit(const std::function<void(Orchestrator&)>& fn) {
  Impl& im = *impl_;
  if (!im.initialized) throw UsageError("submit: call init() first");
  std::lock_guard lock(im.submit_mu);
  std::shared_ptr<RunState> run = im.engine.open_run();
  Orchestrator orch(&im.engine, run.get());
  std::exception_ptr error;
  try {
    fn(orch);
  } catch (...) {
    error = std::current_exception();
  }
  im.engine.close_run(*run, error);
  return RunHandle(&im.engine, std::move(run));
}

void Worker::run(const std::function<void(Orchestrator&)>& fn, std::optional<double> timeout_s) {
  submit(fn).wait(timeout_s);
}

void Worker::run(const OrchFn& fn, const TaskArgs& args, const CallConfig& config) {
  submit([&](Orchestrator& o) { fn(o, args, config); }).wait();
}

void Worker::drain(std::optional<double> timeout_s) { impl_->engine.drain(timeout_s); }

void Worker::close() {
  Impl& im = *impl_;
  if (im.closed) return;
  im.closed = true;
  // Last flush point, while the sessions are still live: import releases nothing holds any more,
  // then frees (so a freed owner's last import goes before it), all before the SHUTDOWNs.
  if (im.initialized) im.remote_memory.flush_due();
  im.engine.stop();
  for (auto& child : im.threaded) child->close();
}

ControlReply Worker::control(WorkerId worker, const ControlRequest& request, std::optional<double> timeout_s) {
  Impl& im = *impl_;
  if (!im.initialized) throw UsageError("control: call init() first");
  const int lane = im.engine.lane_of(worker);
  if (lane < 0) throw UsageError(fmt::format("control '{}': {} is not a NEXT_LEVEL worker id", request.name, worker));
  ControlReply r = im.engine.control(static_cast<uint32_t>(lane), request,
                                     after(timeout_s.value_or(im.options.control_timeout_s)));
  if (!r.ok)
    throw ControlError(fmt::format("control '{}' on worker {} failed{}: {}", request.name, worker,
                                   r.uncertain ? " (effect uncertain)" : "", r.error));
  return r;
}

EndpointHealth Worker::health(WorkerId worker) const {
  const int lane = impl_->engine.lane_of(worker);
  if (lane < 0) throw UsageError(fmt::format("health: {} is not a NEXT_LEVEL worker id", worker));
  return impl_->engine.health(static_cast<uint32_t>(lane));
}

WorkerStats Worker::stats() const {
  const EngineCounters c = impl_->engine.counters();
  return WorkerStats{c.submitted, c.completed, c.failed, c.dispatches, c.passes, c.live_slots};
}

std::vector<int> Worker::child_pids() const {
  std::vector<int> pids;
  for (uint32_t l = 0; l < impl_->engine.lane_count(); ++l)
    if (auto* mb = dynamic_cast<LocalMailboxEndpoint*>(&impl_->engine.lane(l).endpoint()))
      if (mb->child_pid() > 0) pids.push_back(mb->child_pid());
  return pids;
}

RemoteBufferHandle Worker::remote_malloc(WorkerId worker, uint64_t nbytes) {
  if (!impl_->initialized || impl_->closed) throw UsageError("remote_malloc: the Worker is not running (init() first)");
  return impl_->remote_memory.malloc(worker, nbytes);
}

void Worker::remote_copy_to(const RemoteBufferHandle& dst, uint64_t offset, std::span<const std::byte> src) {
  if (!impl_->initialized || impl_->closed) throw UsageError("remote_copy_to: the Worker is not running (init() first)");
  impl_->remote_memory.copy_to(dst, offset, src);
}

void Worker::remote_copy_from(const RemoteBufferHandle& src, uint64_t offset, std::span<std::byte> dst) {
  if (!impl_->initialized || impl_->closed) throw UsageError("remote_copy_from: the Worker is not running (init() first)");
  impl_->remote_memory.copy_from(src, offset, dst);
}

void Worker::remote_free(const RemoteBufferHandle& owner) {
  if (!impl_->initialized || impl_->closed) throw UsageError("remote_free: the Worker is not running (init() first)");
  impl_->remote_memory.free(owner);
}

RemoteBufferExport Worker::remote_export(const RemoteBufferHandle& owner, uint64_t offset, uint64_t nbytes,
                                         uint32_t access) {
  if (!impl_->initialized || impl_->closed) throw UsageError("remote_export: the Worker is not running (init() first)");
  return impl_->remote_memory.export_range(owner, offset, nbytes, access);
}

RemoteBufferHandle Worker::remote_import(const RemoteBufferExport& exported, WorkerId importer, uint32_t requested) {
  if (!impl_->initialized || impl_->closed) throw UsageError("remote_import: the Worker is not running (init() first)");
  return impl_->remote_memory.import(exported, {importer}, requested).front();
}

std::vector<RemoteBufferHandle> Worker::remote_import(const RemoteBufferExport& exported,
                                                      const std::vector<WorkerId>& importers, uint32_t requested) {
  if (!impl_->initialized || impl_->closed) throw UsageError("remote_import: the Worker is not running (init() first)");
  return impl_->remote_memory.import(exported, importers, requested);
}

void Worker::remote_release_import(const RemoteBufferHandle& imported) {
  if (!impl_->initialized || impl_->closed)
    throw UsageError("remote_release_import: the Worker is not running (init() first)");
  impl_->remote_memory.release_import(imported);
}

uint64_t RunHandle::id() const { return run_ ? run_->id : 0; }

bool RunHandle::done() const { return run_ && engine_->run_terminal(*run_); }

void RunHandle::wait(std::optional<double> timeout_s) const {
  if (!run_) throw UsageError("wait: empty RunHandle");
  engine_->wait_run(run_, timeout_s);
}

}  // namespace echelon
