#include "transport/reactor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cerrno>

#include "transport/transport_error.h"

namespace echelon::transport {
namespace {

constexpr uint64_t WAKE_ID = 0;  // registration ids start at 1
constexpr int MAX_EVENTS_PER_TURN = 64;

}  // namespace

Reactor::Reactor()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epoll_) throw_errno("epoll_create1", errno);
  if (!wake_fd_) throw_errno("eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = WAKE_ID;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev) < 0) throw_errno("epoll_ctl(add eventfd)", errno);
}

void Reactor::add(int fd, uint32_t interest, Handler handler) {
  if (entries_.contains(fd))
    throw TransportError(TransportErrc::IO_ERROR, "reactor: fd " + std::to_string(fd) + " is already registered");
  const uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = interest;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("epoll_ctl(add fd " + std::to_string(fd) + ")", errno);
  entries_.emplace(fd, Entry{id, std::make_shared<Handler>(std::move(handler))});
  fd_of_id_.emplace(id, fd);
}

void Reactor::modify(int fd, uint32_t interest) {
  const auto it = entries_.find(fd);
  if (it == entries_.end())
    throw TransportError(TransportErrc::IO_ERROR, "reactor: fd " + std::to_string(fd) + " is not registered");
  epoll_event ev{};
  ev.events = interest;
  ev.data.u64 = it->second.id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) throw_errno("epoll_ctl(mod fd " + std::to_string(fd) + ")", errno);
}

void Reactor::remove(int fd) {
  const auto it = entries_.find(fd);
  if (it == entries_.end()) return;
  // ENOENT/EBADF: the fd was already closed (and so left the set); the bookkeeping still goes.
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  fd_of_id_.erase(it->second.id);
  entries_.erase(it);
}

void Reactor::wake() noexcept {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: a wake-up is pending anyway.
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

Reactor::Turn Reactor::run_once(std::chrono::milliseconds timeout) {
  std::array<epoll_event, MAX_EVENTS_PER_TURN> events{};
  const int wait_ms = timeout.count() < 0 ? 0 : static_cast<int>(std::min<int64_t>(timeout.count(), INT_MAX));
  int n;
  do n = ::epoll_wait(epoll_.get(), events.data(), MAX_EVENTS_PER_TURN, wait_ms);
  while (n < 0 && errno == EINTR);  // a signal ends the wait early; the caller's loop re-arms it
  if (n < 0) throw_errno("epoll_wait", errno);

  Turn turn;
  for (int i = 0; i < n; ++i) {
    const uint64_t id = events[i].data.u64;
    if (id == WAKE_ID) {
      uint64_t count = 0;
      [[maybe_unused]] const ssize_t r = ::read(wake_fd_.get(), &count, sizeof count);  // re-arm
      turn.woken = true;
      continue;
    }
    // Looked up per event: an earlier handler of this batch may have removed this registration.
    const auto fd_it = fd_of_id_.find(id);
    if (fd_it == fd_of_id_.end()) continue;
    const std::shared_ptr<Handler> handler = entries_.at(fd_it->second).handler;
    (*handler)(events[i].events);
    ++turn.handled;
  }
  return turn;
}

}  // namespace echelon::transport
