// Two-process harness for the UCX module tests. UCX may start threads when a context exists, so
// the test process itself never creates one: every side runs in a child forked from the (UCX-free)
// test process, sets its UCX environment, and reports an error text back through a pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "transport/fd.h"
#include "transport/ucx_module.h"

namespace echelon::transport::ucx_test {

// A check inside a child: failing throws, and the text reaches the test process.
#define UCX_CHECK(cond, msg)                                                                  \
  do {                                                                                        \
    if (!(cond)) throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + \
                                          ": check failed: " #cond ": " + (msg));            \
  } while (0)

// In a TEST body: skips the test when this build has no UCX module.
#define SKIP_WITHOUT_UCX() \
  if (!::echelon::transport::ucx_test::ucx_built()) \
  GTEST_SKIP() << "built without UCX (ECHELON_WITH_UCX=OFF or libucx-dev missing)"

// One end of a socketpair between two sides, for exchanging addresses and keys.
class Link {
 public:
  Link() = default;
  explicit Link(Fd fd) : fd_(std::move(fd)) {}
  void send(const std::vector<uint8_t>& blob) const;
  // Blocks up to `timeout`; throws on timeout or EOF.
  std::vector<uint8_t> receive(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  void send_u64(uint64_t v) const;
  uint64_t receive_u64(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  int fd() const noexcept { return fd_.get(); }

 private:
  Fd fd_;
};

std::pair<Link, Link> make_links();

// A forked side. Its body runs with UCX_TLS=`tls` (and UCX_NET_DEVICES=lo when tls has tcp).
class Side {
 public:
  Side(std::string tls, std::function<void()> body);
  ~Side();
  Side(const Side&) = delete;
  Side& operator=(const Side&) = delete;
  pid_t pid() const noexcept { return pid_; }
  // The child's error text, "" when it succeeded; kills it after `timeout`.
  std::string result(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
  Fd result_;
  bool reaped_ = false;
};

// The module, or a skip reason when this build has no UCX.
bool ucx_built();
ucx::Module& module();

// CPU time of this whole process so far (idle-spin checks).
double process_cpu_ms();

// Progresses `worker` until `done()` or the deadline; throws on the deadline.
void progress_until(ucx::Worker& worker, const std::function<bool()>& done, std::chrono::milliseconds timeout,
                    const char* what);

}  // namespace echelon::transport::ucx_test
