// One thread's wait point for many descriptors: an epoll set plus an eventfd that any thread can
// ring with wake(). run_once() blocks in epoll_wait until a registered descriptor is ready, wake()
// is called, or the timeout passes - it never polls in a loop and never sleeps on the latency
// path (lessons: the upstream scheduler busy-polled while an endpoint was busy).
//
// Threading: wake() is thread-safe and async-signal-safe. add/modify/remove/run_once belong to
// the owner thread; handlers run on it and may add, modify or remove registrations (including
// their own) - a removed registration is never called again, even later in the same batch.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "transport/fd.h"

namespace echelon::transport {

class Reactor {
 public:
  static constexpr uint32_t READABLE = EPOLLIN;
  static constexpr uint32_t WRITABLE = EPOLLOUT;
  // Handlers receive the raw epoll events; EPOLLERR and EPOLLHUP are always reported, so a handler
  // that reads on any event sees the error through its next read.
  using Handler = std::function<void(uint32_t events)>;

  struct Turn {
    size_t handled = 0;  // handler invocations in this turn
    bool woken = false;  // wake() was called since the previous turn
  };

  Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Registers `fd` (level-triggered) for `interest` (READABLE and/or WRITABLE); one registration
  // per descriptor. The reactor does not own `fd`: remove it before closing it.
  void add(int fd, uint32_t interest, Handler handler);
  void modify(int fd, uint32_t interest);
  void remove(int fd);
  bool contains(int fd) const { return entries_.contains(fd); }
  size_t size() const { return entries_.size(); }

  // Makes the current or next run_once() return promptly with woken = true.
  void wake() noexcept;

  // Waits up to `timeout` (0 = just look) and runs the handlers of ready descriptors.
  Turn run_once(std::chrono::milliseconds timeout);

 private:
  struct Entry {
    uint64_t id;
    std::shared_ptr<Handler> handler;  // shared so a running handler survives its own removal
  };

  Fd epoll_;
  Fd wake_fd_;
  uint64_t next_id_ = 1;  // epoll data carries ids, not fds: a reused fd cannot get stale events
  std::unordered_map<int, Entry> entries_;
  std::unordered_map<uint64_t, int> fd_of_id_;
};

}  // namespace echelon::transport
