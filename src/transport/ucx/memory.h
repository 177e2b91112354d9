// A registration of existing memory for RMA (ucp_mem_map without ALLOCATE: runner allocations
// are POSIX shared memory that forked children also map) and its packed rkey.
#pragma once

#include <memory>

#include "transport/ucx/context.h"

namespace echelon::transport::ucx {

class UcpRegistration final : public Registration {
 public:
  UcpRegistration(std::shared_ptr<UcpContext> context, void* base, size_t bytes);
  ~UcpRegistration() override;
  UcpRegistration(const UcpRegistration&) = delete;
  UcpRegistration& operator=(const UcpRegistration&) = delete;

  void* base() const noexcept override { return base_; }
  size_t bytes() const noexcept override { return bytes_; }
  const std::vector<uint8_t>& packed_rkey() const noexcept override { return packed_; }

 private:
  std::shared_ptr<UcpContext> context_;
  void* base_;
  size_t bytes_;
  ucp_mem_h memh_ = nullptr;
  std::vector<uint8_t> packed_;
};

}  // namespace echelon::transport::ucx
