#include "transport/ucx/request.h"

#include <fmt/format.h>

#include "transport/ucx/endpoint.h"
#include "transport/ucx/status.h"

namespace echelon::transport::ucx {

void RequestState::on_send_done(void* request, ucs_status_t status, void* user_data) {
  auto* state = static_cast<RequestState*>(user_data);
  state->completed = true;
  state->status = status;
  if (state->abandoned_on != nullptr) {
    ucp_request_free(request);
    state->abandoned_on->forget_abandoned(state);
    delete state;
  }
}

ucp_request_param_t send_params(RequestState* state) {
  ucp_request_param_t params{};
  params.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  params.cb.send = &RequestState::on_send_done;
  params.user_data = state;
  return params;
}

UcpOperation::UcpOperation(std::shared_ptr<WorkerCore> worker, std::shared_ptr<EndpointCore> endpoint,
                           std::string what, std::unique_ptr<RequestState> state, ucs_status_ptr_t result)
    : worker_(std::move(worker)), endpoint_(std::move(endpoint)), what_(std::move(what)) {
  if (result == nullptr) return;  // completed at once; UCX does not call the callback then
  if (UCS_PTR_IS_ERR(result)) {
    const ucs_status_t status = UCS_PTR_STATUS(result);
    if (endpoint_ != nullptr && endpoint_->failed()) {
      throw TransportError(TransportErrc::PEER_CLOSED, fmt::format("{}: {}", what_, endpoint_->failure()));
    }
    throw_status(what_, status);
  }
  state_ = state.release();
  state_->request = result;
}

UcpOperation::~UcpOperation() { abandon(); }

void UcpOperation::abandon() noexcept {
  if (state_ == nullptr) return;
  if (state_->completed) {
    ucp_request_free(state_->request);
    delete state_;
  } else {
    // Cancelling completes the request (with UCS_ERR_CANCELED) in a later progress; the callback
    // then frees it and the buffers the state still owns.
    state_->abandoned_on = worker_.get();
    worker_->adopt_abandoned(state_);
    ucp_request_cancel(worker_->handle(), state_->request);
  }
  state_ = nullptr;
}

void UcpOperation::wait(Deadline deadline) {
  while (state_ != nullptr && !state_->completed) {
    if (endpoint_ != nullptr && endpoint_->failed()) {
      abandon();
      throw TransportError(TransportErrc::PEER_CLOSED, fmt::format("{}: {}", what_, endpoint_->failure()));
    }
    if (worker_->progress()) continue;
    if (state_->completed) break;
    if (Clock::now() >= deadline) {
      abandon();
      throw TransportError(TransportErrc::TIMEOUT,
                           fmt::format("{} on UCP worker '{}' did not complete before its deadline",
                                       what_, worker_->name()));
    }
    worker_->wait(deadline);
  }
  if (state_ != nullptr) {
    status_ = state_->status;
    ucp_request_free(state_->request);
    delete state_;
    state_ = nullptr;
  }
  if (status_ != UCS_OK) {
    if (endpoint_ != nullptr && endpoint_->failed()) {
      throw TransportError(TransportErrc::PEER_CLOSED, fmt::format("{}: {}", what_, endpoint_->failure()));
    }
    throw_status(what_, status_);
  }
}

}  // namespace echelon::transport::ucx
