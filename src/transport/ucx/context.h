// The process's one UCP context: AM + RMA + WAKEUP, with workers shared across threads
// (mt_workers_shared) because each lane's worker is driven by its own thread.
#pragma once

#include <ucp/api/ucp.h>

#include <memory>

#include "transport/ucx/ucx_api.h"

namespace echelon::transport::ucx {

class UcpContext final : public Context, public std::enable_shared_from_this<UcpContext> {
 public:
  // ucp_config_read + ucp_init; UCX reads UCX_TLS, UCX_NET_DEVICES, ... from the environment now.
  static std::shared_ptr<UcpContext> create();
  ~UcpContext() override;
  UcpContext(const UcpContext&) = delete;
  UcpContext& operator=(const UcpContext&) = delete;

  ucp_context_h handle() const noexcept { return context_; }

  std::unique_ptr<Lane> create_lane(const LaneOptions& options) override;  // lane.cpp
  std::unique_ptr<Worker> create_worker(const std::string& name) override;
  std::unique_ptr<Registration> register_memory(void* base, size_t bytes) override;

 private:
  explicit UcpContext(ucp_context_h context) : context_(context) {}
  ucp_context_h context_;
};

}  // namespace echelon::transport::ucx
