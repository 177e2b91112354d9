// Helpers shared by the runtime tests: gates that hold a task, traces of execution order, and
// small Worker fixtures.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "echelon/errors.h"
#include "echelon/host_buffer.h"
#include "echelon/worker.h"
#include "fmt/format.h"

namespace echelon::testing {

// Holds callers in wait() until release(). wait() gives up after 30 s so a bug cannot hang CI.
class Gate {
 public:
  void release() {
    {
      std::lock_guard l(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock l(m_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait_for(l, std::chrono::seconds(30), [&] { return open_; });
  }
  // True once `n` callers are inside wait().
  bool wait_for_waiters(int n, double seconds = 10) {
    std::unique_lock l(m_);
    return cv_.wait_for(l, std::chrono::duration<double>(seconds), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// An execution-order log.
class Trace {
 public:
  void push(int64_t v) {
    std::lock_guard l(m_);
    order_.push_back(v);
  }
  std::vector<int64_t> get() {
    std::lock_guard l(m_);
    return order_;
  }
  size_t size() {
    std::lock_guard l(m_);
    return order_.size();
  }
  bool contains(int64_t v) {
    std::lock_guard l(m_);
    return std::find(order_.begin(), order_.end(), v) != order_.end();
  }
  // Position of v in the order, or -1.
  int index_of(int64_t v) {
    std::lock_guard l(m_);
    auto it = std::find(order_.begin(), order_.end(), v);
    return it == order_.end() ? -1 : static_cast<int>(it - order_.begin());
  }

 private:
  std::mutex m_;
  std::vector<int64_t> order_;
};

// Process-unique callable names (a name binds one function per process).
inline std::string unique_name(const char* prefix) {
  static std::atomic<int> n{0};
  return fmt::format("test.{}.{}", prefix, n.fetch_add(1));
}

inline NativeCallable sub_fn(const char* prefix, SubFn fn) { return NativeCallable::inproc(unique_name(prefix), std::move(fn)); }
inline NativeCallable orch_fn(const char* prefix, OrchFn fn) { return NativeCallable::inproc(unique_name(prefix), std::move(fn)); }

// Polls `pred` until true or `seconds` pass.
inline bool eventually(const std::function<bool()>& pred, double seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

// Test options: short timeouts so failures surface quickly.
inline WorkerOptions quick_options() {
  WorkerOptions o;
  o.heap_ring_bytes = 16ull << 20;
  o.alloc_timeout_s = 5;
  o.close_grace_s = 5;
  return o;
}

inline std::string what_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace echelon::testing
