// An owned file descriptor: closed exactly once, by its destructor or reset(). Every descriptor the
// transport creates lives in one of these from the moment the system call returns.
#pragma once

#include <chrono>
#include <utility>

namespace echelon::transport {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the current descriptor (if any) and adopts `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// poll(2) on one descriptor until one of `events` is ready or `deadline` passes; retries EINTR.
// Returns the revents (0 on timeout). POLLERR/POLLHUP are reported as they come.
short poll_fd(int fd, short events, std::chrono::steady_clock::time_point deadline);

}  // namespace echelon::transport
