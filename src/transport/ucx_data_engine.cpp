#include "transport/ucx_data_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "wire/wire_error.h"

namespace echelon::transport {
namespace {

// Served transfers keep at most this many requests, and this many bytes, outstanding at once.
constexpr size_t kServedWindowRequests = 32;
constexpr size_t kServedWindowBytes = size_t{32} << 20;
// The owner takes no further request in while this many answers, or answers carrying this many
// bytes, are still being sent (however many requesters there are).
constexpr size_t kMaxRepliesInFlight = 64;
constexpr size_t kMaxReplyBytesInFlight = size_t{64} << 20;

}  // namespace

UcxDataEngine::UcxDataEngine(std::string name, ucx::Context& context, std::shared_ptr<ServedRanges> served)
    : name_(std::move(name)), served_(std::move(served)) {
  worker_ = context.create_worker(fmt::format("{} data", name_));
  address_ = worker_->address();
  worker_->listen_am(kAmServedRmaRequest,
                     [this](std::span<const uint8_t> h, size_t n) { return accept_request(h, n); });
  worker_->listen_am(kAmServedRmaReply, [this](std::span<const uint8_t> h, size_t n) { return accept_reply(h, n); });
}

std::unique_ptr<ucx::Endpoint> UcxDataEngine::connect(std::span<const uint8_t> address) {
  ++connections_;
  ++stats_.endpoints_created;
  // Peer error handling where the transports allow it (tcp, RDMA): the peer's side of the
  // connection then has it too, and UCX treats an endpoint error without it as fatal. Shared
  // memory alone cannot detect peer failure; that endpoint has none (Worker::connect).
  return worker_->connect(address, [](const std::string&) {
    // The failure is sticky on the endpoint; the operations on it fail with its text.
  });
}

UcxDataEngine::Peer& UcxDataEngine::peer(std::span<const uint8_t> address) {
  std::vector<uint8_t> key(address.begin(), address.end());
  auto it = peers_.find(key);
  if (it != peers_.end()) return it->second;
  Peer p;
  p.endpoint = connect(address);
  p.epoch = connections_;
  p.served = p.endpoint->detects_peer_failure() && !p.endpoint->offloads_rma();
  return peers_.emplace(std::move(key), std::move(p)).first->second;
}

ucx::Endpoint& UcxDataEngine::answering_endpoint(const wire::ServedRmaRequest& request) {
  Answerer& a = answerers_[request.requester_address];
  if (!a.endpoint || request.requester_epoch > a.epoch || !a.endpoint->failure().empty()) {
    a.endpoint = connect(request.requester_address);  // answers still in flight keep the old one
  }
  a.epoch = std::max(a.epoch, request.requester_epoch);
  return *a.endpoint;
}

ucx::RemoteKey& UcxDataEngine::remote_key(Peer& p, std::span<const uint8_t> packed) {
  std::vector<uint8_t> key(packed.begin(), packed.end());
  auto it = p.keys.find(key);
  if (it != p.keys.end()) return *it->second;
  return *p.keys.emplace(std::move(key), p.endpoint->unpack_rkey(packed)).first->second;
}

void UcxDataEngine::drop(std::span<const uint8_t> address) {
  auto it = peers_.find(std::vector<uint8_t>(address.begin(), address.end()));
  if (it == peers_.end()) return;
  it->second.keys.clear();  // keys before their endpoint
  peers_.erase(it);
}

void UcxDataEngine::prepare_remote_key(std::span<const uint8_t> address, std::span<const uint8_t> packed_rkey) {
  (void)remote_key(peer(address), packed_rkey);
}

void UcxDataEngine::release_remote_key(std::span<const uint8_t> address, std::span<const uint8_t> packed_rkey) {
  auto it = peers_.find(std::vector<uint8_t>(address.begin(), address.end()));
  if (it != peers_.end()) it->second.keys.erase(std::vector<uint8_t>(packed_rkey.begin(), packed_rkey.end()));
}

void UcxDataEngine::transfer(Direction direction, const RemoteRange& range, uint8_t* local,
                             std::span<const ByteRun> runs, Deadline deadline) {
  Peer& p = peer(range.worker_address);
  try {
    if (range.owner_serves && p.served) {
      served(*p.endpoint, p.epoch, direction, range, local, runs, deadline);
      ++stats_.served_transfers;
    } else {
      one_sided(p, direction, range, local, runs, deadline);
      ++stats_.one_sided_transfers;
    }
  } catch (...) {
    drop(range.worker_address);
    throw;
  }
}

void UcxDataEngine::one_sided(Peer& p, Direction direction, const RemoteRange& range, uint8_t* local,
                              std::span<const ByteRun> runs, Deadline deadline) {
  std::deque<std::unique_ptr<ucx::Operation>> ops;  // destroyed on the way out: cancels the rest
  ucx::RemoteKey& key = remote_key(p, range.packed_rkey);
  for (const ByteRun& run : runs) {
    for (size_t done = 0; done < run.length;) {
      const size_t n = std::min(run.length - done, UcxDataPlane::kMaxOperationBytes);
      const size_t offset = run.offset + done;
      if (ops.size() >= UcxDataPlane::kMaxInflightOperations) {
        ops.front()->wait(deadline);
        ops.pop_front();
      }
      ops.push_back(direction == Direction::GET
                        ? p.endpoint->get(local + offset, n, range.remote_addr + offset, key)
                        : p.endpoint->put(local + offset, n, range.remote_addr + offset, key));
      done += n;
    }
  }
  while (!ops.empty()) {
    ops.front()->wait(deadline);
    ops.pop_front();
  }
  p.endpoint->flush()->wait(deadline);
}

void UcxDataEngine::served(ucx::Endpoint& endpoint, uint64_t epoch, Direction direction,
                           const RemoteRange& range, uint8_t* local, std::span<const ByteRun> runs,
                           Deadline deadline) {
  struct Piece {
    size_t offset;
    size_t length;
  };
  std::vector<Piece> pieces;
  for (const ByteRun& run : runs) {
    for (size_t done = 0; done < run.length; done += wire::kMaxServedRmaBytes) {
      pieces.push_back({run.offset + done, std::min(run.length - done, wire::kMaxServedRmaBytes)});
    }
  }
  const wire::RmaOp op = direction == Direction::GET ? wire::RmaOp::GET : wire::RmaOp::PUT;
  std::vector<uint64_t> outstanding;                 // our request ids awaiting answers
  std::deque<std::unique_ptr<ucx::Operation>> sends;  // requests being sent (they own their bytes)
  size_t next = 0;
  size_t outstanding_bytes = 0;
  try {
    while (next < pieces.size() || !outstanding.empty()) {
      while (next < pieces.size() && outstanding.size() < kServedWindowRequests &&
             (outstanding.empty() || outstanding_bytes + pieces[next].length <= kServedWindowBytes)) {
        const Piece& piece = pieces[next++];
        const uint64_t id = next_request_id_++;
        const wire::ServedRmaRequest request{
            .op = op,
            .request_id = id,
            .requester_epoch = epoch,
            .remote_addr = range.remote_addr + piece.offset,
            .length = piece.length,
            .requester_address = address_,
            .packed_rkey = std::vector<uint8_t>(range.packed_rkey.begin(), range.packed_rkey.end())};
        std::vector<uint8_t> data;
        if (op == wire::RmaOp::PUT) data.assign(local + piece.offset, local + piece.offset + piece.length);
        pending_.emplace(id, Pending{op, local + piece.offset, piece.length});
        outstanding.push_back(id);
        outstanding_bytes += piece.length;
        sends.push_back(
            endpoint.send_am(kAmServedRmaRequest, wire::encode_served_rma_request(request), std::move(data)));
      }
      bool worked = worker_->progress();
      while (!sends.empty() && sends.front()->done()) {
        sends.front()->wait(deadline);  // throws what the send failed with
        sends.pop_front();
      }
      worked = serve() || worked;  // a peer waiting on us while we wait on it must not deadlock
      for (auto it = outstanding.begin(); it != outstanding.end();) {
        const auto p = pending_.find(*it);
        if (!p->second.answered) {
          ++it;
          continue;
        }
        const Pending answer = p->second;
        pending_.erase(p);
        it = outstanding.erase(it);
        outstanding_bytes -= answer.length;
        if (answer.status != wire::RmaStatus::OK) {
          const uint64_t at = range.remote_addr + static_cast<size_t>(answer.local - local);
          throw TransportError(TransportErrc::INVALID_ADDRESS,
                               fmt::format("the owner refused the {} of {} bytes at 0x{:x}: {} (not inside memory "
                                           "it exports under this key: never exported, or freed since)",
                                           op == wire::RmaOp::GET ? "get" : "put", answer.length, at,
                                           wire::to_string(answer.status)));
        }
      }
      if (next == pieces.size() && outstanding.empty()) break;
      if (const std::string failure = endpoint.failure(); !failure.empty()) {
        throw TransportError(TransportErrc::PEER_CLOSED, failure);
      }
      if (Clock::now() >= deadline) {
        throw TransportError(TransportErrc::TIMEOUT,
                             fmt::format("{} of {} requests still unanswered by the owner when the deadline passed",
                                         outstanding.size(), pieces.size()));
      }
      if (!worked) worker_->wait(deadline);
    }
  } catch (...) {
    // A late answer finds no pending entry and is dropped by the filter; the caller's memory is
    // no longer written once this returns.
    for (uint64_t id : outstanding) pending_.erase(id);
    throw;
  }
}

bool UcxDataEngine::accept_request(std::span<const uint8_t> header, size_t data_bytes) {
  try {
    const wire::ServedRmaRequest request = wire::decode_served_rma_request(header);
    if (data_bytes == wire::expected_data_bytes(request)) return true;
  } catch (const wire::WireError&) {
  }
  ++stats_.requests_dropped;
  return false;
}

bool UcxDataEngine::accept_reply(std::span<const uint8_t> header, size_t data_bytes) {
  try {
    const wire::ServedRmaReply reply = wire::decode_served_rma_reply(header);
    const auto it = pending_.find(reply.request_id);
    if (it == pending_.end() || it->second.answered || it->second.op != reply.op) return false;
    const bool carries_bytes = reply.op == wire::RmaOp::GET && reply.status == wire::RmaStatus::OK;
    return data_bytes == (carries_bytes ? it->second.length : 0);
  } catch (const wire::WireError&) {
    return false;
  }
}

bool UcxDataEngine::take_messages() {
  bool any = false;
  while (std::optional<ucx::ReceivedAm> m = worker_->next_am()) {
    any = true;
    // The filters accepted these already; decoding again cannot fail.
    if (m->am_id == kAmServedRmaRequest) {
      incoming_.push_back({wire::decode_served_rma_request(m->header), std::move(m->data)});
      continue;
    }
    const wire::ServedRmaReply reply = wire::decode_served_rma_reply(m->header);
    const auto it = pending_.find(reply.request_id);
    if (it == pending_.end() || it->second.answered) continue;  // its transfer ended meanwhile
    Pending& p = it->second;
    if (reply.status == wire::RmaStatus::OK && p.op == wire::RmaOp::GET) {
      if (m->data.size() != p.length) continue;
      std::memcpy(p.local, m->data.data(), p.length);
    }
    p.answered = true;
    p.status = reply.status;
  }
  return any;
}

bool UcxDataEngine::answer_requests() {
  bool any = false;
  while (!replies_.empty() && replies_.front().send->done()) {
    try {
      replies_.front().send->wait(Clock::now());
    } catch (const TransportError&) {
      ++stats_.replies_failed;  // the requester went; its side fails or times out on its own
    }
    reply_bytes_ -= replies_.front().bytes;
    replies_.pop_front();
    any = true;
  }
  const auto answer_bytes = [](const Incoming& in) {
    return in.request.op == wire::RmaOp::GET ? static_cast<size_t>(in.request.length) : size_t{0};
  };
  while (!incoming_.empty() && replies_.size() < kMaxRepliesInFlight &&
         (replies_.empty() || reply_bytes_ + answer_bytes(incoming_.front()) <= kMaxReplyBytesInFlight)) {
    Incoming in = std::move(incoming_.front());
    incoming_.pop_front();
    any = true;
    const wire::ServedRmaRequest& r = in.request;
    wire::ServedRmaReply reply{r.op, wire::RmaStatus::OK, r.request_id};
    std::vector<uint8_t> data;
    const bool found = served_->with_range(r.remote_addr, r.length, r.packed_rkey, [&](uint8_t* memory) {
      if (r.op == wire::RmaOp::GET) {
        data.assign(memory, memory + r.length);
      } else {
        std::memcpy(memory, in.data.data(), r.length);  // written before the answer says so
      }
    });
    if (found) {
      ++stats_.requests_served;
    } else {
      reply.status = wire::RmaStatus::NOT_REGISTERED;
      ++stats_.requests_refused;
    }
    try {
      ucx::Endpoint& endpoint = answering_endpoint(r);
      const size_t bytes = data.size();
      replies_.push_back({endpoint.send_am(kAmServedRmaReply, wire::encode_served_rma_reply(reply), std::move(data)),
                          bytes});
      reply_bytes_ += bytes;
    } catch (const TransportError&) {
      ++stats_.replies_failed;
    }
  }
  return any;
}

bool UcxDataEngine::serve() {
  const bool took = take_messages();
  return answer_requests() || took;
}

}  // namespace echelon::transport
