#include "transport/ucx/endpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "transport/ucx/request.h"
#include "transport/ucx/status.h"
#include "transport/ucx_ep_info.h"

namespace echelon::transport::ucx {

std::shared_ptr<EndpointCore> EndpointCore::create(std::shared_ptr<WorkerCore> worker,
                                                   std::span<const uint8_t> peer_address, PeerErrorFn on_error) {
  if (peer_address.empty()) {
    throw TransportError(TransportErrc::INVALID_ADDRESS, "ucp_ep_create: empty peer worker address");
  }
  std::shared_ptr<EndpointCore> core(new EndpointCore(std::move(worker), std::move(on_error)));
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                      UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.address = reinterpret_cast<const ucp_address_t*>(peer_address.data());
  // Peer error handling restricts UCX to transports that can detect a dead peer; UCX 1.13's
  // shared-memory transports cannot, so an endpoint without a callback (a data-plane endpoint
  // over UCX_TLS=posix,self) uses mode NONE.
  const bool peer_mode = static_cast<bool>(core->on_error_);
  params.err_mode = peer_mode ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE;
  params.err_handler.cb = &EndpointCore::on_peer_error;
  params.err_handler.arg = core.get();  // stable: the core is on the heap until the ep is closed
  const ucs_status_t status = ucp_ep_create(core->worker_->handle(), &params, &core->ep_);
  if (status != UCS_OK) {
    const char* hint = peer_mode && status == UCS_ERR_UNREACHABLE
                           ? " (peer error handling needs a transport that detects peer failure, e.g. "
                             "tcp; UCX 1.13's posix/sysv shared memory cannot: check UCX_TLS)"
                           : "";
    throw_status(fmt::format("ucp_ep_create on worker '{}' ({}-byte peer address, peer error handling {}){}",
                             core->worker_->name(), peer_address.size(), peer_mode ? "on" : "off", hint),
                 status);
  }
  return core;
}

bool shared_memory_only(const char* tls) {
  if (tls == nullptr || *tls == '\0' || *tls == '^') return false;  // unset, or an exclusion list
  static constexpr std::string_view kLocal[] = {"posix", "sysv", "xpmem", "cma", "knem", "self", "sm", "shm", "mm"};
  std::string_view rest(tls);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    if (!name.empty() && std::find(std::begin(kLocal), std::end(kLocal), name) == std::end(kLocal)) return false;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return true;
}

std::shared_ptr<EndpointCore> EndpointCore::create_preferring_peer_errors(std::shared_ptr<WorkerCore> worker,
                                                                         std::span<const uint8_t> peer_address,
                                                                         PeerErrorFn on_error, bool& detects) {
  // Asking first when UCX_TLS plainly names only shared memory keeps UCX from logging an error
  // for an attempt that cannot succeed; any other refusal of peer mode falls back the same way.
  if (!shared_memory_only(std::getenv("UCX_TLS"))) {
    try {
      detects = true;
      return create(worker, peer_address, std::move(on_error));
    } catch (const TransportError&) {
      // Retried without peer error handling below; if that fails too, its error is the one thrown.
    }
  }
  detects = false;
  return create(std::move(worker), peer_address, nullptr);
}

void EndpointCore::on_peer_error(void* arg, ucp_ep_h /*ep*/, ucs_status_t status) {
  auto* core = static_cast<EndpointCore*>(arg);
  if (core->failed()) return;
  core->failure_ = fmt::format("UCP endpoint of worker '{}' failed: {}", core->worker_->name(),
                               ucs_status_string(status));
  if (core->on_error_) core->on_error_(core->failure_);
}

void EndpointCore::check(const char* what) const {
  if (failed()) throw TransportError(TransportErrc::PEER_CLOSED, fmt::format("{}: {}", what, failure_));
}

bool EndpointCore::offloads_rma() const {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = ::open_memstream(&text, &size);
  if (out == nullptr) return false;
  ucp_ep_print_info(ep_, out);
  const bool ok = std::fclose(out) == 0;
  const bool offloads = ok && text != nullptr && ep_info_offloads_rma(std::string_view(text, size));
  std::free(text);
  return offloads;
}

EndpointCore::~EndpointCore() {
  if (ep_ == nullptr) return;
  // Force: a failed or unresponsive peer must not hold the close up; the protocol's SHUTDOWN is
  // what ends a session cleanly, and outstanding operations were flushed or abandoned before.
  ucp_request_param_t params{};
  params.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  params.flags = UCP_EP_CLOSE_FLAG_FORCE;
  ucs_status_ptr_t request = ucp_ep_close_nbx(ep_, &params);
  if (request == nullptr || UCS_PTR_IS_ERR(request)) return;
  const Deadline bound = deadline_in(std::chrono::seconds(1));
  try {
    while (ucp_request_check_status(request) == UCS_INPROGRESS && Clock::now() < bound) {
      if (!worker_->progress()) worker_->wait(bound);
    }
  } catch (...) {  // a destructor: the worker going bad here only ends the wait
  }
  if (ucp_request_check_status(request) != UCS_INPROGRESS) ucp_request_free(request);
}

UcpRemoteKey::UcpRemoteKey(std::shared_ptr<EndpointCore> endpoint, std::span<const uint8_t> packed)
    : endpoint_(std::move(endpoint)) {
  endpoint_->check("ucp_ep_rkey_unpack");
  const ucs_status_t status = ucp_ep_rkey_unpack(endpoint_->handle(), packed.data(), &rkey_);
  if (status != UCS_OK) throw_status(fmt::format("ucp_ep_rkey_unpack of a {}-byte key", packed.size()), status);
}

UcpRemoteKey::~UcpRemoteKey() { ucp_rkey_destroy(rkey_); }

const UcpRemoteKey& UcpEndpoint::own_key(const RemoteKey& key, const char* what) const {
  const auto* k = dynamic_cast<const UcpRemoteKey*>(&key);
  if (k == nullptr || k->endpoint() != core_.get()) {
    throw TransportError(TransportErrc::INVALID_ADDRESS,
                         fmt::format("{}: the remote key was unpacked on another endpoint", what));
  }
  return *k;
}

std::unique_ptr<Operation> UcpEndpoint::send_am(uint16_t am_id, std::vector<uint8_t> header,
                                                std::vector<uint8_t> data) {
  core_->check("ucp_am_send_nbx");
  auto state = std::make_unique<RequestState>();
  state->header = std::move(header);
  state->data = std::move(data);
  const std::span<const uint8_t> h(state->header), d(state->data);  // heap buffers: stay put on move
  return start_am(am_id, std::move(state), h, d);
}

std::unique_ptr<Operation> UcpEndpoint::send_am_split(uint16_t am_id, std::vector<uint8_t> message,
                                                      size_t header_bytes) {
  core_->check("ucp_am_send_nbx");
  if (header_bytes > message.size()) {
    throw TransportError(TransportErrc::MALFORMED_FRAME,
                         fmt::format("ucp_am_send_nbx: a {}-byte header in a {}-byte message", header_bytes,
                                     message.size()));
  }
  auto state = std::make_unique<RequestState>();
  state->data = std::move(message);
  const std::span<const uint8_t> whole(state->data);
  return start_am(am_id, std::move(state), whole.first(header_bytes), whole.subspan(header_bytes));
}

std::unique_ptr<Operation> UcpEndpoint::start_am(uint16_t am_id, std::unique_ptr<RequestState> state,
                                                 std::span<const uint8_t> header, std::span<const uint8_t> data) {
  ucp_request_param_t params = send_params(state.get());
  ucs_status_ptr_t result =
      ucp_am_send_nbx(core_->handle(), am_id, header.data(), header.size(), data.data(), data.size(), &params);
  return std::make_unique<UcpOperation>(core_->worker(), core_,
                                        fmt::format("ucp_am_send_nbx(id {}, {} + {} bytes)", am_id, header.size(),
                                                    data.size()),
                                        std::move(state), result);
}

std::unique_ptr<RemoteKey> UcpEndpoint::unpack_rkey(std::span<const uint8_t> packed) {
  return std::make_unique<UcpRemoteKey>(core_, packed);
}

std::unique_ptr<Operation> UcpEndpoint::put(const void* local, size_t bytes, uint64_t remote_addr,
                                            const RemoteKey& key) {
  const UcpRemoteKey& k = own_key(key, "ucp_put_nbx");
  core_->check("ucp_put_nbx");
  auto state = std::make_unique<RequestState>();
  ucp_request_param_t params = send_params(state.get());
  ucs_status_ptr_t result = ucp_put_nbx(core_->handle(), local, bytes, remote_addr, k.handle(), &params);
  return std::make_unique<UcpOperation>(core_->worker(), core_, fmt::format("ucp_put_nbx of {} bytes", bytes),
                                        std::move(state), result);
}

std::unique_ptr<Operation> UcpEndpoint::get(void* local, size_t bytes, uint64_t remote_addr,
                                            const RemoteKey& key) {
  const UcpRemoteKey& k = own_key(key, "ucp_get_nbx");
  core_->check("ucp_get_nbx");
  auto state = std::make_unique<RequestState>();
  ucp_request_param_t params = send_params(state.get());
  ucs_status_ptr_t result = ucp_get_nbx(core_->handle(), local, bytes, remote_addr, k.handle(), &params);
  return std::make_unique<UcpOperation>(core_->worker(), core_, fmt::format("ucp_get_nbx of {} bytes", bytes),
                                        std::move(state), result);
}

std::unique_ptr<Operation> UcpEndpoint::flush() {
  core_->check("ucp_ep_flush_nbx");
  auto state = std::make_unique<RequestState>();
  ucp_request_param_t params = send_params(state.get());
  ucs_status_ptr_t result = ucp_ep_flush_nbx(core_->handle(), &params);
  return std::make_unique<UcpOperation>(core_->worker(), core_, "ucp_ep_flush_nbx", std::move(state), result);
}

}  // namespace echelon::transport::ucx
