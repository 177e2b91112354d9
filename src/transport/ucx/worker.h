// One UCP worker (UCS_THREAD_MODE_SINGLE: its owning thread is the only one that touches it) and
// how that thread sleeps: ucp_worker_arm, then poll() on the worker's event fd plus an eventfd
// that other threads write to wake it. Never a spin.
#pragma once

#include <memory>
#include <unordered_set>

#include "transport/fd.h"
#include "transport/ucx/am_inbox.h"
#include "transport/ucx/context.h"

namespace echelon::transport::ucx {

struct RequestState;

// What endpoints and operations share with their worker (kept alive by them).
class WorkerCore {
 public:
  static std::shared_ptr<WorkerCore> create(std::shared_ptr<UcpContext> context, const std::string& name);
  ~WorkerCore();
  WorkerCore(const WorkerCore&) = delete;
  WorkerCore& operator=(const WorkerCore&) = delete;

  ucp_worker_h handle() const noexcept { return worker_; }
  const std::string& name() const noexcept { return name_; }
  AmInbox& inbox() noexcept { return *inbox_; }
  bool progress();
  bool wait(Deadline deadline);
  // ucp_worker_arm: true when armed (the event fd will wake a sleeper on the next event), false
  // when events are pending and the caller must progress again first.
  bool arm();
  int event_fd() const noexcept { return event_fd_; }
  void wake() noexcept;
  // Abandoned requests (owning thread only): a request UCX never completes - a send on an
  // endpoint closed under it, say - would leak its state and buffers, so the worker frees what is
  // left of them after ucp_worker_destroy.
  void adopt_abandoned(RequestState* state) { abandoned_.insert(state); }
  void forget_abandoned(RequestState* state) noexcept { abandoned_.erase(state); }

 private:
  WorkerCore(std::shared_ptr<UcpContext> context, std::string name);

  std::shared_ptr<UcpContext> context_;
  std::string name_;
  ucp_worker_h worker_ = nullptr;
  int event_fd_ = -1;  // owned by UCX
  Fd wake_fd_;
  std::unique_ptr<AmInbox> inbox_;
  std::unordered_set<RequestState*> abandoned_;
};

class UcpWorker final : public Worker {
 public:
  explicit UcpWorker(std::shared_ptr<WorkerCore> core) : core_(std::move(core)) {}

  std::vector<uint8_t> address() const override;
  bool progress() override { return core_->progress(); }
  bool wait(Deadline deadline) override { return core_->wait(deadline); }
  void wake() noexcept override { core_->wake(); }
  void listen_am(uint16_t am_id, AmFilter filter) override { core_->inbox().listen(am_id, std::move(filter)); }
  std::optional<ReceivedAm> next_am() override { return core_->inbox().next(); }
  std::unique_ptr<Endpoint> connect(std::span<const uint8_t> peer_address, PeerErrorFn on_error) override;

 private:
  std::shared_ptr<WorkerCore> core_;
};

}  // namespace echelon::transport::ucx
