// Receiving active messages into a queue. UCX calls the receive handler from inside
// ucp_worker_progress, where nothing may progress the worker again, so the handler only filters
// and copies (eager) or parks the rendezvous descriptor; start_rendezvous() pulls parked payloads
// (ucp_am_recv_data_nbx) after progress returned, straight into a buffer of the announced size.
#pragma once

#include <ucp/api/ucp.h>

#include <deque>
#include <map>
#include <memory>

#include "transport/ucx/ucx_api.h"

namespace echelon::transport::ucx {

class AmInbox {
 public:
  explicit AmInbox(ucp_worker_h worker) : worker_(worker) {}
  ~AmInbox() = default;
  AmInbox(const AmInbox&) = delete;
  AmInbox& operator=(const AmInbox&) = delete;

  // With `frame_layout` a message's `data` is the AM header followed by the AM data in one buffer
  // (a whole SLR3 frame, no second copy); `header` is still set.
  void listen(uint16_t am_id, AmFilter filter, bool frame_layout = false);
  // Messages refused by a filter or whose rendezvous pull failed, so far.
  size_t dropped() const noexcept { return dropped_; }
  size_t failed_pulls() const noexcept { return failed_pulls_; }
  // Unregisters the handlers and releases parked descriptors; called before the worker is
  // destroyed (the inbox outlives that, so a pull UCX completes while destroying stays safe).
  void close() noexcept;
  // Starts the pulls of rendezvous messages parked by the handler; true if there were any.
  bool start_rendezvous();
  std::optional<ReceivedAm> next();

 private:
  struct Listener {
    AmInbox* inbox;
    uint16_t am_id;
    AmFilter filter;
    bool frame_layout;
  };
  struct Parked {
    uint16_t am_id;
    std::vector<uint8_t> header;
    void* descriptor;
    size_t bytes;
    bool frame_layout;
  };
  struct Pull;  // one rendezvous receive in flight

  static ucs_status_t on_message(void* arg, const void* header, size_t header_length, void* data,
                                 size_t length, const ucp_am_recv_param_t* param);
  static void on_pulled(void* request, ucs_status_t status, size_t length, void* user_data);

  ucp_worker_h worker_;
  std::map<uint16_t, std::unique_ptr<Listener>> listeners_;  // stable addresses: UCX holds them
  std::deque<Parked> parked_;
  std::deque<ReceivedAm> ready_;
  size_t pulls_in_flight_ = 0;
  size_t dropped_ = 0;  // refused by a filter or failed pulls (for diagnostics)
  size_t failed_pulls_ = 0;
};

}  // namespace echelon::transport::ucx
