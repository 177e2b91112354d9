// A local child process reached through a shared-memory mailbox (runtime.md section 7). The
// parent side writes a task frame and rings the child's futex; the child runs it and rings the
// parent Scheduler's doorbell. Child death is seen through a pidfd.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "core/shared_mapping.h"
#include "core/wake_signal.h"
#include "echelon/endpoint.h"
#include "endpoint/child_process.h"
#include "endpoint/mailbox.h"

namespace echelon {

// What runs inside the child process. Built in the child (after fork) by the factory below.
class ChildService {
 public:
  virtual ~ChildService() = default;
  // In the child before it reports ready: fork grandchildren, then start threads. Throw to fail.
  virtual void start() {}
  // Runs one task; throw to report TASK_FAILURE with the exception's text.
  virtual void run(const DecodedTask& task) = 0;
  virtual ControlReply control(const std::string& name, std::span<const uint8_t> payload) = 0;
  // In the child after shutdown was requested, before it exits.
  virtual void stop() {}
};

class LocalMailboxEndpoint final : public WorkerEndpoint {
 public:
  using ServiceFactory = std::function<std::unique_ptr<ChildService>()>;

  // Maps the mailbox now (before fork). `name` is used in errors ("worker 2", "sub0", "chip1").
  LocalMailboxEndpoint(EndpointCaps caps, std::string name, ServiceFactory factory);
  ~LocalMailboxEndpoint() override;

  const EndpointCaps& caps() const override { return caps_; }
  void launch(const LaunchContext& context) override;
  void await_ready(Deadline deadline) override;
  int liveness_fd() const override { return child_.pidfd(); }
  void attach(Waker* waker) override { waker_ = waker; }
  void submit(const DispatchRequest& request) override;
  size_t poll(std::vector<EndpointEvent>& out) override;
  EndpointHealth health() const override;
  ControlReply control(const ControlRequest& request, Deadline deadline) override;
  void request_stop(const std::string& reason) override;
  void shutdown(Deadline deadline) override;

  pid_t child_pid() const { return child_.pid(); }
  const Mailbox& mailbox() const { return *mailbox_.as<Mailbox>(); }

 private:
  void fail(const std::string& reason);  // mu_ held
  bool check_child_alive();              // mu_ held; false (and FAILED) once it exited

  EndpointCaps caps_;
  std::string name_;
  ServiceFactory factory_;
  SharedMapping mailbox_;
  ChildProcess child_;
  Waker* waker_ = nullptr;

  mutable std::mutex mu_;
  uint64_t in_flight_ = 0;  // dispatch id of the task in the task frame, 0 = none
  bool failed_ = false;
  std::string failure_;
  std::vector<EndpointEvent> pending_;  // failures to report on the next poll
  std::mutex control_mu_;               // one control at a time
};

// The child side: runs until shutdown; returns the process exit code.
int run_mailbox_child(Mailbox& mailbox, const Doorbell& parent, ChildService& service);

}  // namespace echelon
