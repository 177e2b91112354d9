#include "transport/ucx/worker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "transport/ucx/endpoint.h"
#include "transport/ucx/request.h"
#include "transport/ucx/status.h"

namespace echelon::transport::ucx {

std::shared_ptr<WorkerCore> WorkerCore::create(std::shared_ptr<UcpContext> context, const std::string& name) {
  return std::shared_ptr<WorkerCore>(new WorkerCore(std::move(context), name));
}

WorkerCore::WorkerCore(std::shared_ptr<UcpContext> context, std::string name)
    : context_(std::move(context)), name_(std::move(name)) {
  wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) throw_errno(fmt::format("eventfd for UCP worker '{}'", name_), errno);

  ucp_worker_params_t params{};
  params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  params.thread_mode = UCS_THREAD_MODE_SINGLE;
  ucs_status_t status = ucp_worker_create(context_->handle(), &params, &worker_);
  if (status != UCS_OK) throw_status(fmt::format("ucp_worker_create '{}'", name_), status);
  status = ucp_worker_get_efd(worker_, &event_fd_);
  if (status != UCS_OK) {
    ucp_worker_destroy(worker_);
    throw_status(fmt::format("ucp_worker_get_efd '{}'", name_), status);
  }
  inbox_ = std::make_unique<AmInbox>(worker_);
}

WorkerCore::~WorkerCore() {
  inbox_->close();
  ucp_worker_destroy(worker_);  // may still complete abandoned requests (their callbacks free them)
  // Requests UCX never completed: their memory went with the worker; their states are ours.
  for (RequestState* state : abandoned_) delete state;
}

bool WorkerCore::progress() {
  bool any = false;
  for (;;) {
    bool round = ucp_worker_progress(worker_) != 0;
    // Rendezvous pulls start outside the receive callback (no progress from inside progress).
    round = inbox_->start_rendezvous() || round;
    if (!round) return any;
    any = true;
  }
}

bool WorkerCore::arm() {
  // Arm only after progress found nothing: UCS_ERR_BUSY means events arrived meanwhile, and the
  // caller must progress again instead of sleeping on them.
  const ucs_status_t status = ucp_worker_arm(worker_);
  if (status == UCS_ERR_BUSY) return false;
  if (status != UCS_OK) throw_status(fmt::format("ucp_worker_arm '{}'", name_), status);
  return true;
}

bool WorkerCore::wait(Deadline deadline) {
  if (!arm()) return true;
  pollfd fds[2] = {{event_fd_, POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
  const int n = ::poll(fds, 2, poll_timeout_ms(deadline));
  if (n < 0) {
    if (errno == EINTR) return true;
    throw_errno(fmt::format("poll on UCP worker '{}'", name_), errno);
  }
  if (fds[1].revents != 0) {
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(wake_fd_.get(), &count, sizeof(count));
  }
  return n > 0;
}

void WorkerCore::wake() noexcept {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_.get(), &one, sizeof(one));
}

std::vector<uint8_t> UcpWorker::address() const {
  ucp_address_t* address = nullptr;
  size_t length = 0;
  const ucs_status_t status = ucp_worker_get_address(core_->handle(), &address, &length);
  if (status != UCS_OK) throw_status(fmt::format("ucp_worker_get_address '{}'", core_->name()), status);
  const auto* p = reinterpret_cast<const uint8_t*>(address);
  std::vector<uint8_t> out(p, p + length);
  ucp_worker_release_address(core_->handle(), address);
  return out;
}

std::unique_ptr<Endpoint> UcpWorker::connect(std::span<const uint8_t> peer_address, PeerErrorFn on_error) {
  if (!on_error) return std::make_unique<UcpEndpoint>(EndpointCore::create(core_, peer_address, nullptr));
  bool detects = false;
  return std::make_unique<UcpEndpoint>(
      EndpointCore::create_preferring_peer_errors(core_, peer_address, std::move(on_error), detects));
}

}  // namespace echelon::transport::ucx
