// The host_tcp profile of FrameChannel (buffers.md 9.2): one TCP connection per lane, carrying
// SLR3 frames both ways through a FrameStream. Lanes are made by connecting to a runner's
// announced port, or by accepting on a TcpListener and adopting the socket.
#pragma once

#include <memory>

#include "transport/endpoint_address.h"
#include "transport/frame_channel.h"
#include "transport/frame_stream.h"

namespace echelon::transport {

inline constexpr const char* HOST_TCP_PROFILE = "host_tcp";

class HostTcpChannel final : public FrameChannel {
 public:
  explicit HostTcpChannel(TcpSocket socket, uint32_t max_payload = wire::MAX_FRAME_PAYLOAD_BYTES)
      : stream_(std::move(socket), max_payload) {}

  // Connects to `peer` within `deadline` (CONNECT_FAILED / TIMEOUT naming the address).
  static std::unique_ptr<HostTcpChannel> connect(const EndpointAddress& peer, Deadline deadline,
                                                 uint32_t max_payload = wire::MAX_FRAME_PAYLOAD_BYTES);

  const char* profile() const noexcept override { return HOST_TCP_PROFILE; }
  std::string peer() const override { return stream_.peer(); }
  void post(std::vector<uint8_t> frame) override { stream_.enqueue(std::move(frame)); }
  // Scatter/gather: `tail` is written from the caller's memory.
  void post_parts(std::vector<uint8_t> head, std::span<const uint8_t> tail, std::function<void()> released) override {
    stream_.enqueue_parts(std::move(head), tail, std::move(released));
  }
  void send_payload(wire::FrameType type, const wire::FrameRoute& route, std::span<const uint8_t> payload,
                    Deadline deadline) override;
  void send_payload_parts(wire::FrameType type, const wire::FrameRoute& route, std::span<const uint8_t> head,
                          std::span<const uint8_t> tail, Deadline deadline) override;
  void recycle(std::vector<uint8_t> storage) override { stream_.recycle(std::move(storage)); }
  bool set_tail_router(size_t prefix_bytes, TailRouter router) override {
    stream_.set_tail_router(prefix_bytes, std::move(router));
    return true;
  }
  std::optional<InboundFrame> poll() override;
  bool flush() override { return stream_.flush(); }
  void send(std::vector<uint8_t> frame, Deadline deadline) override { stream_.send(std::move(frame), deadline); }
  InboundFrame receive(Deadline deadline) override { return stream_.receive(deadline); }
  int wait_fd() const noexcept override { return stream_.fd(); }
  bool wants_write() const noexcept override { return stream_.has_pending_output(); }
  const TransportError* failure() const noexcept override { return stream_.failure(); }
  void close() noexcept override { stream_.close(); }

  FrameStream& stream() noexcept { return stream_; }

 private:
  FrameStream stream_;
};

}  // namespace echelon::transport
