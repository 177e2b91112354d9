// A child that runs callables on its own thread inside this process. Tasks and controls share one
// FIFO, so a control is ordered after every task submitted before it (RT-604).
#pragma once

#include <functional>
#include <memory>

#include "echelon/endpoint.h"
#include "echelon/native_callable.h"

namespace echelon {

class InProcessEndpoint final : public WorkerEndpoint {
 public:
  // Runs one resolved entry; an exception reports TASK_FAILURE with its text.
  using Executor = std::function<void(const LocalEntry& entry, const TaskArgs& args, const CallConfig& config)>;

  // `caps.role` decides which entry kind installs here: NEXT_LEVEL takes orchestration entries,
  // SUB takes sub entries.
  InProcessEndpoint(EndpointCaps caps, Executor executor);
  ~InProcessEndpoint() override;

  const EndpointCaps& caps() const override { return caps_; }
  void attach(Waker* waker) override;
  void submit(const DispatchRequest& request) override;
  size_t poll(std::vector<EndpointEvent>& out) override;
  EndpointHealth health() const override;
  ControlReply control(const ControlRequest& request, Deadline deadline) override;
  void request_stop(const std::string& reason) override;
  void shutdown(Deadline deadline) override;

  // Tasks an in-process child accepts ahead of the one it runs: hand-offs are batched, which is
  // what makes short tasks cheap.
  static constexpr uint32_t kPipelineDepth = 16;

  // Capabilities of an in-process child of the given role.
  static EndpointCaps default_caps(EndpointRole role, WorkerId id, int level, uint32_t max_inflight = kPipelineDepth);

 private:
  struct State;
  EndpointCaps caps_;
  std::shared_ptr<State> state_;  // shared with the thread, which may outlive a timed-out shutdown
};

}  // namespace echelon
