#include "transport/ucx/context.h"

#include "transport/ucx/memory.h"
#include "transport/ucx/status.h"
#include "transport/ucx/worker.h"

namespace echelon::transport::ucx {

std::shared_ptr<UcpContext> UcpContext::create() {
  ucp_config_t* config = nullptr;
  ucs_status_t status = ucp_config_read(nullptr, nullptr, &config);
  if (status != UCS_OK) throw_status("ucp_config_read (check the UCX_* environment variables)", status);

  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_AM | UCP_FEATURE_RMA | UCP_FEATURE_WAKEUP;
  params.mt_workers_shared = 1;
  ucp_context_h context = nullptr;
  status = ucp_init(&params, config, &context);
  ucp_config_release(config);
  if (status != UCS_OK) throw_status("ucp_init (AM, RMA, WAKEUP)", status);
  return std::shared_ptr<UcpContext>(new UcpContext(context));
}

UcpContext::~UcpContext() { ucp_cleanup(context_); }

std::unique_ptr<Worker> UcpContext::create_worker(const std::string& name) {
  return std::make_unique<UcpWorker>(WorkerCore::create(shared_from_this(), name));
}

std::unique_ptr<Registration> UcpContext::register_memory(void* base, size_t bytes) {
  return std::make_unique<UcpRegistration>(shared_from_this(), base, bytes);
}

}  // namespace echelon::transport::ucx
