#include "transport/host_tcp_channel.h"

#include "wire/frame_codec.h"

namespace echelon::transport {

std::unique_ptr<HostTcpChannel> HostTcpChannel::connect(const EndpointAddress& peer, Deadline deadline,
                                                        uint32_t max_payload) {
  return std::make_unique<HostTcpChannel>(TcpSocket::connect(peer, deadline), max_payload);
}

std::optional<InboundFrame> HostTcpChannel::poll() {
  if (stream_.has_pending_output()) stream_.flush();
  return stream_.poll_frame();
}

void HostTcpChannel::send_payload(wire::FrameType type, const wire::FrameRoute& route,
                                  std::span<const uint8_t> payload, Deadline deadline) {
  // The header alone is encoded; the payload goes out from the caller's buffer.
  stream_.send_parts(wire::encode_frame_head(type, route, {}, payload.size()), payload, deadline);
}

void HostTcpChannel::send_payload_parts(wire::FrameType type, const wire::FrameRoute& route,
                                        std::span<const uint8_t> head, std::span<const uint8_t> tail,
                                        Deadline deadline) {
  // Header and `head` are encoded into one small buffer; `tail` goes out from the caller's memory.
  stream_.send_parts(wire::encode_frame_head(type, route, head, tail.size()), tail, deadline);
}

}  // namespace echelon::transport
