// What the remote end-to-end tests share: the per-test daemon fixture, parent options, loopback
// specs for a fixture daemon, the session test plugin's entries, and init/run that return their
// error text instead of throwing.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"

namespace echelon::remote_e2e {

// `n` bytes of i * 7 + seed: a pattern whose period (256) falls across chunk and page edges.
inline std::vector<uint8_t> byte_pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + seed);
  return v;
}

inline WorkerOptions parent_options() {
  WorkerOptions o;
  o.startup_timeout_s = 20;
  o.close_grace_s = 5;
  return o;
}

// The transport profile the suite runs under: ctest runs it once per profile, the ucx instance with
// ECHELON_TEST_TRANSPORT=ucx (UCX_TLS / UCX_NET_DEVICES keeping UCX on loopback tcp) and the RMA
// tests once more with ECHELON_TEST_TRANSPORT=ucx-shm (the ucx profile over UCX_TLS=posix,self).
inline std::string test_profile() {
  const char* p = std::getenv("ECHELON_TEST_TRANSPORT");
  if (p == nullptr || *p == '\0') return "host_tcp";
  return std::string(p) == "ucx-shm" ? "ucx" : p;
}
inline bool testing_ucx() { return test_profile() == "ucx"; }
// The ucx profile over shared memory only: the parent is a safe RMA target there (no peer failure
// detection to fail UCX's emulated RMA mid-operation), so large copies move by RMA.
inline bool testing_ucx_shared_memory() {
  const char* p = std::getenv("ECHELON_TEST_TRANSPORT");
  return p != nullptr && std::string(p) == "ucx-shm";
}

inline RemoteWorkerSpec spec_for(const Daemon& d) {
  RemoteWorkerSpec s;
  s.transport_profile = test_profile();
  s.host = d.host();
  s.port = d.port();
  s.heap_ring_bytes = uint64_t{4} << 20;  // the runner's inner Worker needs little
  s.startup_timeout_s = 15;
  s.health_interval_s = 0.05;
  s.health_expiry_s = 2;
  s.shutdown_timeout_s = 5;
  return s;
}

// HEALTH every 50 ms, FAILED after 300 ms of silence: expiry tests finish quickly.
inline RemoteWorkerSpec fast_health_spec_for(const Daemon& d) {
  RemoteWorkerSpec s = spec_for(d);
  s.health_interval_s = 0.05;
  s.health_expiry_s = 0.3;
  return s;
}

inline RemoteCallable plugin_entry(const std::string& symbol) {
  return RemoteCallable::native("session_test:" + symbol);
}

// The error text of `w.run(fn)`, empty when it succeeded.
inline std::string run_error(Worker& w, const std::function<void(Orchestrator&)>& fn) {
  try {
    w.run(fn);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

// The error text of `w.init()`, empty when it succeeded.
inline std::string init_error(Worker& w) {
  try {
    w.init();
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

// A fresh daemon per test. Whatever a test did, the daemon must have no runner left once its
// parent closed, and must exit on SIGTERM.
class DaemonTest : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_TRUE(wait_until([&] { return daemon.runners().empty(); })) << "a runner outlived its session";
    EXPECT_TRUE(daemon.stop()) << "the daemon did not exit on SIGTERM";
  }
  Daemon daemon;
};

}  // namespace echelon::remote_e2e
