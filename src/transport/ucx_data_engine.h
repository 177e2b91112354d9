// The state of a data plane's thread (ucx_data_plane.h): its UCP worker, the endpoints and keys
// of the peers it reaches, and both sides of the served transfers of wire/served_rma.h. Only the
// data thread touches an engine.
//
// A transfer goes one of two ways, chosen per peer once its endpoint exists:
// - one-sided: UCP put/get plus a flush. Used towards the parent (which decided that RMA is safe
//   for it), and towards a peer data plane whose endpoint offloads RMA (RDMA) or cannot detect
//   peer failure (shared memory only: nothing fails it mid-operation).
// - served: towards a peer data plane over a transport that detects peer failure but emulates RMA
//   (tcp). UCX 1.13 serves emulated RMA inside the target process and aborts that process when a
//   reply meets the failed endpoint of a requester that died; here the target's own data thread
//   answers get and put requests with active messages instead, so a dead requester is an ordinary
//   failed send for it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "transport/deadline.h"
#include "transport/ucx/ucx_api.h"
#include "transport/ucx_data_plane.h"
#include "transport/ucx_served_ranges.h"
#include "wire/served_rma.h"

namespace echelon::transport {

// Active-message ids of served RMA on data workers (lanes use 1-4 on their own workers).
inline constexpr uint16_t kAmServedRmaRequest = 16;
inline constexpr uint16_t kAmServedRmaReply = 17;

class UcxDataEngine {
 public:
  enum class Direction { GET, PUT };

  // Creates the worker (on the data thread) and listens for served-transfer messages.
  UcxDataEngine(std::string name, ucx::Context& context, std::shared_ptr<ServedRanges> served);
  UcxDataEngine(const UcxDataEngine&) = delete;
  UcxDataEngine& operator=(const UcxDataEngine&) = delete;

  ucx::Worker& worker() noexcept { return *worker_; }
  const std::vector<uint8_t>& address() const noexcept { return address_; }

  // Moves the bytes of `runs` (relative to local and range.remote_addr) and returns once they are
  // remotely complete; throws TransportError. A failed or timed-out transfer drops the peer's
  // endpoint (and keys): the next transfer connects again.
  void transfer(Direction direction, const RemoteRange& range, uint8_t* local, std::span<const ByteRun> runs,
                Deadline deadline);
  // Connects to the peer (if not yet) and unpacks the key, caching both.
  void prepare_remote_key(std::span<const uint8_t> address, std::span<const uint8_t> packed_rkey);
  void release_remote_key(std::span<const uint8_t> address, std::span<const uint8_t> packed_rkey);
  size_t cached_peers() const noexcept { return peers_.size(); }
  const UcxDataPlaneStats& stats() const noexcept { return stats_; }

  // One idle turn's work apart from progress: takes in received messages and answers peers'
  // requests; true if it did anything.
  bool serve();

 private:
  struct Peer {
    std::unique_ptr<ucx::Endpoint> endpoint;
    std::map<std::vector<uint8_t>, std::unique_ptr<ucx::RemoteKey>> keys;  // by packed key
    bool served = false;  // a peer data plane's memory is reached through served transfers
    uint64_t epoch = 0;   // when this endpoint was connected (this plane's connection count)
  };
  // How this plane answers one requester: an endpoint of its own, apart from the Peer used for
  // this plane's transfers to the same process, so that replacing one never changes the epoch the
  // other sends (two planes importing from each other would otherwise make each other reconnect
  // on every request).
  struct Answerer {
    std::unique_ptr<ucx::Endpoint> endpoint;
    uint64_t epoch = 0;  // the newest requester_epoch answered through it; a newer one replaces it
  };
  // One request of ours awaiting its reply.
  struct Pending {
    wire::RmaOp op;
    uint8_t* local;
    uint64_t length;
    bool answered = false;
    wire::RmaStatus status = wire::RmaStatus::OK;
  };
  // A peer's request, received, not yet answered.
  struct Incoming {
    wire::ServedRmaRequest request;
    std::vector<uint8_t> data;
  };
  // An answer being sent.
  struct Reply {
    std::unique_ptr<ucx::Operation> send;
    size_t bytes;  // the data it carries (a get's answer)
  };

  Peer& peer(std::span<const uint8_t> address);
  // The endpoint to answer a request through: a failed one, or one older than the requester's
  // connection (requester_epoch), is replaced first.
  ucx::Endpoint& answering_endpoint(const wire::ServedRmaRequest& request);
  std::unique_ptr<ucx::Endpoint> connect(std::span<const uint8_t> address);
  ucx::RemoteKey& remote_key(Peer& p, std::span<const uint8_t> packed);
  void drop(std::span<const uint8_t> address);

  void one_sided(Peer& p, Direction direction, const RemoteRange& range, uint8_t* local,
                 std::span<const ByteRun> runs, Deadline deadline);
  // `epoch`: the Peer::epoch of `endpoint`, sent as requester_epoch.
  void served(ucx::Endpoint& endpoint, uint64_t epoch, Direction direction, const RemoteRange& range,
              uint8_t* local, std::span<const ByteRun> runs, Deadline deadline);
  // The AM filters (inside progress): nothing is allocated for a message they refuse.
  bool accept_request(std::span<const uint8_t> header, size_t data_bytes);
  bool accept_reply(std::span<const uint8_t> header, size_t data_bytes);
  bool take_messages();
  bool answer_requests();

  // Declared (so destroyed) in this order on purpose: closing an endpoint progresses the worker,
  // whose message filters read pending_ and stats_, so those outlive the endpoints and the worker.
  std::string name_;
  std::shared_ptr<ServedRanges> served_;
  UcxDataPlaneStats stats_;
  std::map<uint64_t, Pending> pending_;  // by request id
  uint64_t next_request_id_ = 1;
  uint64_t connections_ = 0;
  std::deque<Incoming> incoming_;
  std::unique_ptr<ucx::Worker> worker_;
  std::vector<uint8_t> address_;
  std::map<std::vector<uint8_t>, Peer, std::less<>> peers_;              // by worker address
  std::map<std::vector<uint8_t>, Answerer, std::less<>> answerers_;      // by requester address
  std::deque<Reply> replies_;
  size_t reply_bytes_ = 0;  // the sum of their bytes
};

}  // namespace echelon::transport
