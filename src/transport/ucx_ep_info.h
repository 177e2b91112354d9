// Reading what UCX chose for an endpoint (ucp_ep_print_info's text; UCX 1.13 has no query for it).
#pragma once

#include <string_view>

namespace echelon::transport {

// Whether the endpoint described by `ep_info` (the text of ucp_ep_print_info) has a lane that does
// one-sided RMA in the transport itself: a "lane[i]:" line listing an "rma#k" use, as RDMA
// transports (rc, dc, ud verbs) do. Without one, UCP emulates put and get with active messages
// that the *target* process must serve (tcp and shared memory on UCX 1.13); an "rma_bw#k" use is
// rendezvous bandwidth, not RMA. Text without lane lines reads as no RMA lane.
bool ep_info_offloads_rma(std::string_view ep_info);

}  // namespace echelon::transport
