#include "transport/ucx_data_plane.h"

#include <fmt/format.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "transport/ucx/quiet_wakes.h"
#include "transport/ucx_data_engine.h"
#include "transport/ucx_served_ranges.h"

namespace echelon::transport {
namespace {

uint64_t load_word(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// First index >= i where a and b differ, or n.
size_t next_difference(const uint8_t* a, const uint8_t* b, size_t i, size_t n) noexcept {
  while (i + 8 <= n && load_word(a + i) == load_word(b + i)) i += 8;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// First index >= i where a and b are equal, or n.
size_t next_equal(const uint8_t* a, const uint8_t* b, size_t i, size_t n) noexcept {
  while (i < n && a[i] != b[i]) ++i;
  return i;
}

// A short, stable name of a peer for error texts (worker addresses are binary).
std::string peer_name(std::span<const uint8_t> address) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (uint8_t b : address) h = (h ^ b) * 1099511628211ull;
  return fmt::format("peer data worker {:016x} ({}-byte address)", h, address.size());
}

// The message of `e` without the "<code>: " prefix TransportError puts in front of it.
std::string message_of(const TransportError& e) {
  std::string text = e.what();
  const std::string prefix = std::string(to_string(e.code())) + ": ";
  if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
  return text;
}

}  // namespace

std::vector<ByteRun> changed_runs(std::span<const uint8_t> snapshot, std::span<const uint8_t> current,
                                  size_t min_gap) {
  if (snapshot.size() != current.size()) {
    throw std::invalid_argument(fmt::format("changed_runs: snapshot has {} bytes, current {}", snapshot.size(),
                                            current.size()));
  }
  const uint8_t* a = snapshot.data();
  const uint8_t* b = current.data();
  const size_t n = snapshot.size();
  std::vector<ByteRun> runs;
  size_t i = 0;
  while (i < n) {
    const size_t start = next_difference(a, b, i, n);
    if (start == n) break;
    const size_t end = next_equal(a, b, start, n);
    if (!runs.empty() && start - (runs.back().offset + runs.back().length) < min_gap) {
      runs.back().length = end - runs.back().offset;
    } else {
      runs.push_back(ByteRun{start, end - start});
    }
    i = end;
  }
  return runs;
}

// What the caller threads and the data thread share.
struct UcxDataPlane::Shared {
  struct Job {
    enum class State { QUEUED, RUNNING, DONE };
    std::function<void(UcxDataEngine&)> run;
    State state = State::QUEUED;
    std::exception_ptr error;
  };

  std::mutex mu;
  std::condition_variable done;  // a job reached DONE
  std::deque<std::shared_ptr<Job>> queue;
  ucx::Worker* worker = nullptr;  // set while the thread runs (for wake())
  bool stopping = false;
  std::string fatal;  // why the data thread ended on its own, if it did
  std::thread thread;
  std::mutex close_mu;  // serialises close()

  // Fails every queued job (the thread is gone or going). Called with `mu` held.
  void fail_queued(const std::string& why) {
    for (auto& job : queue) {
      job->state = Job::State::DONE;
      job->error = std::make_exception_ptr(TransportError(TransportErrc::CLOSED, why));
    }
    queue.clear();
    done.notify_all();
  }
};

UcxDataPlane::UcxDataPlane(std::string name, std::shared_ptr<ucx::Context> context)
    : name_(std::move(name)),
      context_(std::move(context)),
      served_(ServedRanges::create()),
      shared_(std::make_unique<Shared>()) {}

std::unique_ptr<UcxDataPlane> UcxDataPlane::create(ucx::Module& module, std::string name) {
  std::unique_ptr<UcxDataPlane> plane(new UcxDataPlane(std::move(name), module.context()));
  std::promise<std::vector<uint8_t>> started;
  std::future<std::vector<uint8_t>> address = started.get_future();
  Shared* shared = plane->shared_.get();
  shared->thread = std::thread([shared, context = plane->context_, served = plane->served_, name = plane->name_,
                                started = std::move(started)]() mutable {
    using Job = Shared::Job;
    std::unique_ptr<UcxDataEngine> engine;
    try {
      engine = std::make_unique<UcxDataEngine>(name, *context, std::move(served));
      {
        std::lock_guard lock(shared->mu);
        shared->worker = &engine->worker();  // before create() returns: callers may submit at once
      }
      started.set_value(engine->address());
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    try {
      // A long streak: a wait also returns at once while arming reports BUSY, a brief state in the
      // middle of shared-memory traffic that must never cost a sleep.
      ucx::QuietWakes quiet_wakes(4096);
      for (;;) {
        std::shared_ptr<Job> job;
        {
          std::lock_guard lock(shared->mu);
          if (shared->stopping) break;
          if (!shared->queue.empty()) {
            job = std::move(shared->queue.front());
            shared->queue.pop_front();
            job->state = Job::State::RUNNING;
          }
        }
        if (job) {
          std::exception_ptr error;
          try {
            job->run(*engine);
          } catch (...) {
            error = std::current_exception();
          }
          std::lock_guard lock(shared->mu);
          job->error = error;
          job->state = Job::State::DONE;
          shared->done.notify_all();
          quiet_wakes.worked();
          continue;
        }
        // Idle: serve peers (their emulated RMA inside progress, their requests in serve()), then
        // sleep on the event fd until UCX or a caller wakes us.
        if (engine->worker().progress() || engine->serve()) {
          quiet_wakes.worked();
          continue;
        }
        quiet_wakes.quiet();
        engine->worker().wait(deadline_in(std::chrono::seconds(60)));
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(shared->mu);
      shared->fatal = fmt::format("the data thread of '{}' ended: {}", name, e.what());
    } catch (...) {
      std::lock_guard lock(shared->mu);
      shared->fatal = fmt::format("the data thread of '{}' ended on an unknown exception", name);
    }
    std::lock_guard lock(shared->mu);
    shared->worker = nullptr;
    shared->fail_queued(shared->fatal.empty() ? fmt::format("UCX data plane '{}' closed", name) : shared->fatal);
    // `engine` goes now: answers in flight, keys, endpoints, then the worker.
  });
  try {
    plane->address_ = address.get();
  } catch (...) {
    shared->thread.join();
    throw;
  }
  return plane;
}

UcxDataPlane::~UcxDataPlane() { close(); }

void UcxDataPlane::close() noexcept {
  std::lock_guard close_lock(shared_->close_mu);
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
    if (shared_->worker != nullptr) shared_->worker->wake();
  }
  if (shared_->thread.joinable()) shared_->thread.join();
}

std::unique_ptr<ucx::Registration> UcxDataPlane::register_memory(void* base, size_t bytes) {
  return served_->serve(context_->register_memory(base, bytes));
}

// A job still queued when `deadline` passes is taken back (TIMEOUT); a running one is bounded by
// the deadline it was given.
void UcxDataPlane::run_job(std::function<void(UcxDataEngine&)> fn, Deadline deadline, const std::string& what) {
  using Job = Shared::Job;
  Shared& shared = *shared_;
  auto job = std::make_shared<Job>();
  job->run = std::move(fn);
  std::unique_lock lock(shared.mu);
  if (shared.stopping || shared.worker == nullptr) {
    throw TransportError(TransportErrc::CLOSED,
                         fmt::format("UCX data plane '{}': {}: {}", name_, what,
                                     shared.fatal.empty() ? "the plane is closed" : shared.fatal));
  }
  shared.queue.push_back(job);
  shared.worker->wake();
  while (job->state != Job::State::DONE) {
    if (job->state == Job::State::QUEUED) {
      if (shared.done.wait_until(lock, deadline) == std::cv_status::timeout && job->state == Job::State::QUEUED) {
        std::erase(shared.queue, job);
        throw TransportError(TransportErrc::TIMEOUT,
                             fmt::format("UCX data plane '{}': {}: still queued behind earlier operations "
                                         "when the deadline passed",
                                         name_, what));
      }
    } else {
      shared.done.wait(lock);
    }
  }
  if (job->error) std::rethrow_exception(job->error);
}

void UcxDataPlane::transfer(bool get, const RemoteRange& range, uint8_t* local, std::span<const ByteRun> runs,
                            Deadline deadline) {
  size_t total = 0;
  for (const ByteRun& run : runs) {
    if (run.offset + run.length < run.offset) throw std::invalid_argument("UcxDataPlane: byte run overflows");
    total += run.length;
  }
  if (total == 0) return;
  if (local == nullptr) throw std::invalid_argument("UcxDataPlane: null local buffer");
  const std::string what =
      fmt::format("{} of {} bytes{} at remote 0x{:x} {} {}", get ? "get" : "put", total,
                  runs.size() > 1 ? fmt::format(" in {} runs", runs.size()) : std::string(), range.remote_addr,
                  get ? "from" : "to", peer_name(range.worker_address));
  try {
    run_job(
        [&](UcxDataEngine& engine) {
          engine.transfer(get ? UcxDataEngine::Direction::GET : UcxDataEngine::Direction::PUT, range, local, runs,
                          deadline);
        },
        deadline, what);
  } catch (const TransportError& e) {
    if (message_of(e).rfind("UCX data plane", 0) == 0) throw;  // already in context
    throw TransportError(e.code(), fmt::format("UCX data plane '{}': {} failed: {}", name_, what, message_of(e)));
  }
}

void UcxDataPlane::get(const RemoteRange& range, void* local, size_t bytes, Deadline deadline) {
  const ByteRun run{0, bytes};
  transfer(true, range, static_cast<uint8_t*>(local), {&run, 1}, deadline);
}

void UcxDataPlane::put(const RemoteRange& range, const void* local, size_t bytes, Deadline deadline) {
  const ByteRun run{0, bytes};
  // The engine only reads from `local` for puts.
  transfer(false, range, static_cast<uint8_t*>(const_cast<void*>(local)), {&run, 1}, deadline);
}

void UcxDataPlane::put_runs(const RemoteRange& range, const void* local_base, std::span<const ByteRun> runs,
                            Deadline deadline) {
  transfer(false, range, static_cast<uint8_t*>(const_cast<void*>(local_base)), runs, deadline);
}

void UcxDataPlane::prepare_remote_key(std::span<const uint8_t> worker_address, std::span<const uint8_t> packed_rkey,
                                      Deadline deadline) {
  run_job([&](UcxDataEngine& engine) { engine.prepare_remote_key(worker_address, packed_rkey); }, deadline,
          "connecting to " + peer_name(worker_address) + " and unpacking its key");
}

void UcxDataPlane::release_remote_key(std::span<const uint8_t> worker_address, std::span<const uint8_t> packed_rkey,
                                      Deadline deadline) {
  run_job([&](UcxDataEngine& engine) { engine.release_remote_key(worker_address, packed_rkey); }, deadline,
          "release of a remote key of " + peer_name(worker_address));
}

size_t UcxDataPlane::cached_peers(Deadline deadline) {
  size_t n = 0;
  run_job([&](UcxDataEngine& engine) { n = engine.cached_peers(); }, deadline, "cached_peers");
  return n;
}

UcxDataPlaneStats UcxDataPlane::stats(Deadline deadline) {
  UcxDataPlaneStats stats;
  run_job([&](UcxDataEngine& engine) { stats = engine.stats(); }, deadline, "stats");
  return stats;
}

}  // namespace echelon::transport
