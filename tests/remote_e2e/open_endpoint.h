// One RemoteL3Endpoint driven directly by a test (no engine): attached to a fresh session of the
// fixture daemon, with a waker that lets the test wait (bounded) for its events. For what only
// the endpoint boundary can show: exact order of frames, hand-built descriptors.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "echelon/endpoint.h"
#include "endpoint/remote_l3_endpoint.h"
#include "remote_e2e_helpers.h"

namespace echelon::remote_e2e {

// Rung by the endpoint's I/O thread; lets a test wait (bounded) for the endpoint's events.
class EventWaker final : public Waker {
 public:
  void wake() noexcept override {
    std::lock_guard lock(mu_);
    ++rings_;
    cv_.notify_all();
  }
  // Polls until `n` events arrived in total or `timeout` passed; everything polled so far.
  std::vector<EndpointEvent> await(WorkerEndpoint& ep, size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(mu_);
    for (;;) {
      const uint64_t seen = rings_;
      lock.unlock();
      ep.poll(events_);
      lock.lock();
      if (events_.size() >= n || !cv_.wait_until(lock, deadline, [&] { return rings_ != seen; })) return events_;
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t rings_ = 0;
  std::vector<EndpointEvent> events_;
};

// A RemoteL3Endpoint attached to a fresh session of the fixture daemon, shut down on destruction.
struct OpenEndpoint {
  OpenEndpoint(const Daemon& daemon, const std::vector<std::string>& symbols) : OpenEndpoint(spec_for(daemon), symbols) {}
  OpenEndpoint(const RemoteWorkerSpec& spec, const std::vector<std::string>& symbols) : ep(spec, 0, 4) {
    for (const auto& s : symbols) {
      callables.push_back(plugin_entry(s));
      ep.add_dispatcher_entry(callables.back());
    }
    const Deadline deadline = Clock::now() + std::chrono::seconds(15);
    ep.launch(LaunchContext{nullptr, deadline});
    ep.await_ready(deadline);
    ep.attach(&waker);
  }
  ~OpenEndpoint() { ep.shutdown(Clock::now() + std::chrono::seconds(5)); }

  // Hands one task to the endpoint; what the request points to only has to live during the call.
  void submit(uint64_t dispatch_id, size_t callable, std::vector<uint64_t> scalars, std::vector<Tensor> tensors = {},
              const RemoteArgs* remote = nullptr) {
    DispatchRequest r;
    r.remote = remote;
    r.dispatch_id = dispatch_id;
    r.callable = &callables.at(callable).identity();
    r.config = &config;
    r.tensors = &tensors;
    r.scalars = &scalars;
    ep.submit(r);
  }
  ControlReply control(const ControlRequest& request, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return ep.control(request, Clock::now() + timeout);
  }

  RemoteL3Endpoint ep;
  EventWaker waker;
  std::vector<RemoteCallable> callables;
  CallConfig config;
};

}  // namespace echelon::remote_e2e
