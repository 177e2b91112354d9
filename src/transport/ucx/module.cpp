// The module's one exported symbol: the factory the loader (transport/ucx_module.cpp) resolves.
#include <ucp/api/ucp.h>

#include <mutex>

#include "transport/ucx/context.h"

namespace echelon::transport::ucx {
namespace {

class UcpModule final : public Module {
 public:
  uint32_t abi_version() const noexcept override { return kModuleAbiVersion; }
  std::string ucx_version() const override { return ucp_get_version_string(); }

  std::shared_ptr<Context> context() override {
    // One context per process (buffers.md 9.3); it lives while anything created from it does.
    std::lock_guard lock(mutex_);
    if (auto existing = context_.lock()) return existing;
    auto created = UcpContext::create();
    context_ = created;
    return created;
  }

 private:
  std::mutex mutex_;
  std::weak_ptr<UcpContext> context_;
};

}  // namespace
}  // namespace echelon::transport::ucx

extern "C" __attribute__((visibility("default"))) echelon::transport::ucx::Module* echelon_ucx_module_v1() {
  static echelon::transport::ucx::UcpModule module;
  return &module;
}
