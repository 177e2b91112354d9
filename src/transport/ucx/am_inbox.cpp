#include "transport/ucx/am_inbox.h"

#include <fmt/format.h>

#include <algorithm>

#include "transport/ucx/status.h"

namespace echelon::transport::ucx {

struct AmInbox::Pull {
  AmInbox* inbox;
  ReceivedAm message;
};

void AmInbox::close() noexcept {
  for (const auto& [id, listener] : listeners_) {
    ucp_am_handler_param_t params{};
    params.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB;
    params.id = id;
    params.cb = nullptr;
    ucp_worker_set_am_recv_handler(worker_, &params);
  }
  for (auto& p : parked_) ucp_am_data_release(worker_, p.descriptor);
  parked_.clear();
}

void AmInbox::listen(uint16_t am_id, AmFilter filter, bool frame_layout) {
  auto listener = std::make_unique<Listener>(Listener{this, am_id, std::move(filter), frame_layout});
  ucp_am_handler_param_t params{};
  params.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
                      UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG;
  params.id = am_id;
  params.flags = UCP_AM_FLAG_WHOLE_MSG;  // one callback per message, never fragments
  params.cb = &AmInbox::on_message;
  params.arg = listener.get();
  const ucs_status_t status = ucp_worker_set_am_recv_handler(worker_, &params);
  if (status != UCS_OK) throw_status(fmt::format("ucp_worker_set_am_recv_handler(id {})", am_id), status);
  listeners_[am_id] = std::move(listener);
}

ucs_status_t AmInbox::on_message(void* arg, const void* header, size_t header_length, void* data,
                                 size_t length, const ucp_am_recv_param_t* param) {
  auto* listener = static_cast<Listener*>(arg);
  AmInbox& inbox = *listener->inbox;
  const bool rendezvous = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  const auto* h = static_cast<const uint8_t*>(header);
  const std::span<const uint8_t> header_view(h, header_length);
  // The filter sees only the header and the announced length: nothing is allocated for a message
  // it refuses. A refused rendezvous fails the sender's send instead of hanging it.
  if (listener->filter && !listener->filter(header_view, length)) {
    ++inbox.dropped_;
    return rendezvous ? UCS_ERR_REJECTED : UCS_OK;
  }
  std::vector<uint8_t> header_copy(h, h + header_length);
  if (rendezvous) {
    inbox.parked_.push_back({listener->am_id, std::move(header_copy), data, length, listener->frame_layout});
    return UCS_INPROGRESS;  // keeps the descriptor until start_rendezvous() pulls it
  }
  const auto* d = static_cast<const uint8_t*>(data);
  std::vector<uint8_t> body;
  if (listener->frame_layout) {
    body.reserve(header_length + length);
    body.insert(body.end(), h, h + header_length);
  }
  body.insert(body.end(), d, d + length);
  inbox.ready_.push_back({listener->am_id, std::move(header_copy), std::move(body), false});
  return UCS_OK;  // copied: UCX may reuse its buffer
}

bool AmInbox::start_rendezvous() {
  bool any = false;
  while (!parked_.empty()) {
    Parked p = std::move(parked_.front());
    parked_.pop_front();
    any = true;
    const size_t prefix = p.frame_layout ? p.header.size() : 0;
    std::vector<uint8_t> body(prefix + p.bytes);
    if (prefix != 0) std::copy(p.header.begin(), p.header.end(), body.begin());
    auto* pull = new Pull{this, {p.am_id, std::move(p.header), std::move(body), true}};
    ucp_request_param_t params{};
    params.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    params.cb.recv_am = &AmInbox::on_pulled;
    params.user_data = pull;
    ucs_status_ptr_t request =
        ucp_am_recv_data_nbx(worker_, p.descriptor, pull->message.data.data() + prefix, p.bytes, &params);
    if (request == nullptr) {  // completed at once; the callback is not called
      ready_.push_back(std::move(pull->message));
      delete pull;
    } else if (UCS_PTR_IS_ERR(request)) {
      ++dropped_;
      ++failed_pulls_;
      delete pull;
    } else {
      ++pulls_in_flight_;
    }
  }
  return any;
}

void AmInbox::on_pulled(void* request, ucs_status_t status, size_t /*length*/, void* user_data) {
  auto* pull = static_cast<Pull*>(user_data);
  AmInbox& inbox = *pull->inbox;
  --inbox.pulls_in_flight_;
  if (status == UCS_OK) {
    inbox.ready_.push_back(std::move(pull->message));
  } else {
    ++inbox.dropped_;
    ++inbox.failed_pulls_;
  }
  delete pull;
  ucp_request_free(request);
}

std::optional<ReceivedAm> AmInbox::next() {
  if (ready_.empty()) return std::nullopt;
  ReceivedAm m = std::move(ready_.front());
  ready_.pop_front();
  return m;
}

}  // namespace echelon::transport::ucx
