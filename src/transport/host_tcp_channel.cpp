#include "transport/host_tcp_channel.h"

namespace echelon::transport {

std::unique_ptr<HostTcpChannel> HostTcpChannel::connect(const EndpointAddress& peer, Deadline deadline,
                                                        uint32_t max_payload) {
  return std::make_unique<HostTcpChannel>(TcpSocket::connect(peer, deadline), max_payload);
}

std::optional<InboundFrame> HostTcpChannel::poll() {
  if (stream_.has_pending_output()) stream_.flush();
  return stream_.poll_frame();
}

}  // namespace echelon::transport
