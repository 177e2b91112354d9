// One UCP request of an nbx call, completed by a callback. The state lives on the heap, apart
// from the Operation, because an abandoned request (cancelled on timeout or destruction) still
// completes later inside progress, and its callback must find the buffers it used alive.
#pragma once

#include <memory>
#include <string>

#include "transport/ucx/worker.h"

namespace echelon::transport::ucx {

class EndpointCore;

struct RequestState {
  bool completed = false;
  // Set once the Operation is gone: the callback frees everything, and this worker frees the state
  // if UCX never completes the request.
  WorkerCore* abandoned_on = nullptr;
  ucs_status_t status = UCS_INPROGRESS;
  void* request = nullptr;
  std::vector<uint8_t> header;  // AM sends own their buffers until completion
  std::vector<uint8_t> data;

  // The callback to pass as cb.send with this state as user_data.
  static void on_send_done(void* request, ucs_status_t status, void* user_data);
};

class UcpOperation final : public Operation {
 public:
  // Takes the result of an nbx call made with `state` as user data.
  UcpOperation(std::shared_ptr<WorkerCore> worker, std::shared_ptr<EndpointCore> endpoint,
               std::string what, std::unique_ptr<RequestState> state, ucs_status_ptr_t result);
  ~UcpOperation() override;
  UcpOperation(const UcpOperation&) = delete;
  UcpOperation& operator=(const UcpOperation&) = delete;

  bool done() const noexcept override { return state_ == nullptr || state_->completed; }
  void wait(Deadline deadline) override;

 private:
  void abandon() noexcept;

  std::shared_ptr<WorkerCore> worker_;
  std::shared_ptr<EndpointCore> endpoint_;
  std::string what_;
  RequestState* state_ = nullptr;  // null once finished and freed
  ucs_status_t status_ = UCS_OK;   // final status when state_ is null
};

// Fills the callback/user-data fields of nbx params for `state`.
ucp_request_param_t send_params(RequestState* state);

}  // namespace echelon::transport::ucx
