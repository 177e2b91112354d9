// An endpoint to a peer worker address with peer error handling: UCX calls the error callback
// when the peer fails, which marks the endpoint failed at once (sticky) and tells the owner.
// Also the remote keys unpacked on it and the AM/RMA calls made through it.
#pragma once

#include <memory>
#include <span>

#include "transport/ucx/worker.h"

namespace echelon::transport::ucx {

struct RequestState;

// True when a UCX_TLS value names only same-host transports (shared memory, self), none of which
// can detect a dead peer in UCX 1.13.
bool shared_memory_only(const char* tls);

class EndpointCore {
 public:
  static std::shared_ptr<EndpointCore> create(std::shared_ptr<WorkerCore> worker,
                                              std::span<const uint8_t> peer_address, PeerErrorFn on_error);
  // With peer error handling where a transport in UCX_TLS provides it (`detects` true), else
  // without (shared memory only: UCX 1.13 cannot detect a dead peer there).
  static std::shared_ptr<EndpointCore> create_preferring_peer_errors(std::shared_ptr<WorkerCore> worker,
                                                                     std::span<const uint8_t> peer_address,
                                                                     PeerErrorFn on_error, bool& detects);
  ~EndpointCore();  // force-closes, progressing the worker up to a short bound
  EndpointCore(const EndpointCore&) = delete;
  EndpointCore& operator=(const EndpointCore&) = delete;

  ucp_ep_h handle() const noexcept { return ep_; }
  const std::shared_ptr<WorkerCore>& worker() const noexcept { return worker_; }
  bool failed() const noexcept { return !failure_.empty(); }
  // Created with peer error handling (UCP_ERR_HANDLING_MODE_PEER).
  bool peer_mode() const noexcept { return static_cast<bool>(on_error_); }
  const std::string& failure() const noexcept { return failure_; }
  // Throws PEER_CLOSED naming the failure when the endpoint failed.
  void check(const char* what) const;
  // Whether UCX gave this endpoint a lane that does RMA in the transport (ep_info_offloads_rma of
  // ucp_ep_print_info's text); false also when that text cannot be had.
  bool offloads_rma() const;

 private:
  EndpointCore(std::shared_ptr<WorkerCore> worker, PeerErrorFn on_error)
      : worker_(std::move(worker)), on_error_(std::move(on_error)) {}
  static void on_peer_error(void* arg, ucp_ep_h ep, ucs_status_t status);

  std::shared_ptr<WorkerCore> worker_;
  PeerErrorFn on_error_;
  ucp_ep_h ep_ = nullptr;
  std::string failure_;
};

class UcpRemoteKey final : public RemoteKey {
 public:
  UcpRemoteKey(std::shared_ptr<EndpointCore> endpoint, std::span<const uint8_t> packed);
  ~UcpRemoteKey() override;
  UcpRemoteKey(const UcpRemoteKey&) = delete;
  UcpRemoteKey& operator=(const UcpRemoteKey&) = delete;

  ucp_rkey_h handle() const noexcept { return rkey_; }
  const EndpointCore* endpoint() const noexcept { return endpoint_.get(); }

 private:
  std::shared_ptr<EndpointCore> endpoint_;  // a key must be destroyed before its endpoint
  ucp_rkey_h rkey_ = nullptr;
};

class UcpEndpoint final : public Endpoint {
 public:
  explicit UcpEndpoint(std::shared_ptr<EndpointCore> core) : core_(std::move(core)) {}

  std::unique_ptr<Operation> send_am(uint16_t am_id, std::vector<uint8_t> header,
                                     std::vector<uint8_t> data) override;
  std::unique_ptr<Operation> send_am_split(uint16_t am_id, std::vector<uint8_t> message,
                                           size_t header_bytes) override;
  std::unique_ptr<RemoteKey> unpack_rkey(std::span<const uint8_t> packed) override;
  std::unique_ptr<Operation> put(const void* local, size_t bytes, uint64_t remote_addr,
                                 const RemoteKey& key) override;
  std::unique_ptr<Operation> get(void* local, size_t bytes, uint64_t remote_addr,
                                 const RemoteKey& key) override;
  std::unique_ptr<Operation> flush() override;
  std::string failure() const override { return core_->failure(); }
  bool detects_peer_failure() const override { return core_->peer_mode(); }
  bool offloads_rma() const override { return core_->offloads_rma(); }

 private:
  // Sends `header` + `data` (buffers owned by `state`) and wraps the request.
  std::unique_ptr<Operation> start_am(uint16_t am_id, std::unique_ptr<RequestState> state,
                                      std::span<const uint8_t> header, std::span<const uint8_t> data);

  const UcpRemoteKey& own_key(const RemoteKey& key, const char* what) const;
  std::shared_ptr<EndpointCore> core_;
};

}  // namespace echelon::transport::ucx
