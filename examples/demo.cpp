// echelon-demo: the main job. A level-4 Worker runs one DAG over three level-3 nodes: two remote
// L3 sessions served by an echelon-remote-worker daemon (started here on loopback, authenticated
// with a fresh shared secret, unless --daemon names one already running) and one local L3 child
// process. Every node owns simulated chips (child processes running kernels) and updates its share
// of a vector for several rounds, y = (x + y) * alpha, each round one L4 task that the node splits
// into chip kernels. Remote nodes keep their share in remote buffers; the local node in shared
// memory. The L4 tasks of one node are ordered by their data (y is read and written every round);
// the nodes run in parallel. The result is checked against a sequential reference.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "chip/kernels/kernel_files.h"
#include "demo_node.h"
#include "echelon/host_buffer.h"
#include "echelon/remote_buffer.h"
#include "echelon/worker.h"
#include "remote/local_daemon.h"
#include "spdlog/spdlog.h"
#include "transport/endpoint_address.h"

using namespace echelon;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  uint32_t remote_nodes = 2;
  uint32_t chips = 2;
  uint32_t slices = 4;
  uint32_t per_node = 1 << 18;  // elements per node
  int rounds = 4;
  uint32_t nodes() const { return remote_nodes + 1; }
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

float x_at(uint64_t k) { return static_cast<float>(k % 97) * 0.25f; }

// The share of node `n` after `rounds` rounds, element by element, as the chips compute it.
float reference(uint64_t k, int rounds, float alpha) {
  float v = 1.0f;
  for (int r = 0; r < rounds; ++r) v = (x_at(k) + v) * alpha;
  return v;
}

std::span<const std::byte> bytes_of(const std::vector<float>& v) { return std::as_bytes(std::span(v)); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"echelon-demo: one L4 DAG over two remote L3 sessions and one local L3 child, each with simulated chips"};
  Shape shape;
  std::string daemon_addr, secret_file, transport = "host_tcp";
  app.add_option("--elements", shape.per_node, "vector elements per node")->check(CLI::Range(1u << 10, 1u << 22));
  app.add_option("--rounds", shape.rounds, "rounds (L4 tasks) per node")->check(CLI::Range(1, 1000));
  app.add_option("--chips", shape.chips, "simulated chips per node")->check(CLI::Range(1, 8));
  app.add_option("--daemon", daemon_addr,
                 "use a running echelon-remote-worker at IP:PORT instead of starting one on loopback");
  app.add_option("--secret-file", secret_file, "shared-secret file of that daemon (omit for --insecure-no-auth)");
  app.add_option("--transport", transport,
                 "transport profile of the remote sessions: host_tcp, or ucx (UCX picks its transports from "
                 "UCX_TLS; on our loopback daemon UCX_NET_DEVICES defaults to lo)")
      ->check(CLI::IsMember({"host_tcp", "ucx"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (shape.per_node % shape.slices != 0) {
    std::fprintf(stderr, "echelon-demo: --elements must be a multiple of %u\n", shape.slices);
    return 2;
  }
  const float alpha = 0.5f;
  uint32_t alpha_bits;
  std::memcpy(&alpha_bits, &alpha, 4);

  // The daemon: ours on an ephemeral loopback port with a fresh secret, or the user's.
  std::optional<remote::EphemeralSecretFile> secret;
  std::optional<remote::LocalDaemon> daemon;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  const auto t_daemon = Clock::now();
  if (daemon_addr.empty()) {
    // Before the daemon starts, so its runners inherit it, and before any UCX context exists.
    if (transport == "ucx") ::setenv("UCX_NET_DEVICES", "lo", 0);
    secret.emplace();
    secret_file = secret->path();
    daemon.emplace(remote::LocalDaemonOptions{.binary = ECHELON_REMOTE_WORKER_PATH,
                                              .plugin_dirs = {ECHELON_DEMO_PLUGIN_DIR},
                                              .auth_secret_file = secret_file});
    port = daemon->port();
  } else {
    const auto addr = transport::parse_endpoint_address(daemon_addr);
    host = addr.host;
    port = addr.port;
  }
  const double daemon_ms = ms_since(t_daemon);

  const auto vadd = ChipCallable::from_file(kernels::kernel_file("vadd"));
  const auto scale = ChipCallable::from_file(kernels::kernel_file("scale"));
  const auto local_round = NativeCallable::inproc("demo.node_round", OrchFn(demo::node_round));

  Worker l4(4);
  std::vector<WorkerId> remotes;
  for (uint32_t r = 0; r < shape.remote_nodes; ++r) {
    RemoteWorkerSpec spec;
    spec.host = host;
    spec.port = port;
    spec.transport_profile = transport;
    spec.num_chips = shape.chips;
    spec.auth_secret_file = secret_file;
    spec.startup_timeout_s = 20;
    remotes.push_back(l4.add_remote_worker(spec));
  }
  const WorkerId local = l4.add_worker({.options = {}, .setup = [&](Worker& node) {
                                          for (uint32_t k = 0; k < shape.chips; ++k) node.add_chip();
                                          node.register_callable(vadd);
                                          node.register_callable(scale);
                                        }});
  l4.register_inner(echelon::RemoteCallable::chip(vadd), remotes);
  l4.register_inner(echelon::RemoteCallable::chip(scale), remotes);
  const CallableHandle local_round_h = l4.register_callable(local_round);

  const auto t_init = Clock::now();
  l4.init();
  const double init_ms = ms_since(t_init);
  // The node body is registered on the running sessions: PREPARE on both, then COMMIT on both,
  // all or nothing (chip kernels above went in the bootstrap manifests instead).
  const auto t_register = Clock::now();
  const CallableHandle remote_round = l4.register_callable(RemoteCallable::native("echelon_demo:demo_node_round"), remotes);
  const double register_ms = ms_since(t_register);

  // Inputs: node n holds elements [n * per_node, (n + 1) * per_node) of x and y.
  const uint64_t bytes = uint64_t{shape.per_node} * 4;
  auto node_x = [&](uint32_t n) {
    std::vector<float> v(shape.per_node);
    for (uint32_t i = 0; i < shape.per_node; ++i) v[i] = x_at(uint64_t{n} * shape.per_node + i);
    return v;
  };
  const std::vector<float> ones(shape.per_node, 1.0f);
  std::vector<RemoteBufferHandle> rx, ry;
  const auto t_copy_in = Clock::now();
  for (uint32_t r = 0; r < shape.remote_nodes; ++r) {
    rx.push_back(l4.remote_malloc(remotes[r], bytes));
    ry.push_back(l4.remote_malloc(remotes[r], bytes));
    l4.remote_copy_to(rx[r], 0, bytes_of(node_x(r)));
    l4.remote_copy_to(ry[r], 0, bytes_of(ones));
  }
  const double copy_in_ms = ms_since(t_copy_in);
  HostBuffer lx(bytes), ly(bytes);
  {
    const auto v = node_x(shape.remote_nodes);
    std::memcpy(lx.data(), v.data(), bytes);
    std::memcpy(ly.data(), ones.data(), bytes);
  }

  auto round_args = [&](TaskArgs args) {
    args.add_scalar_bits(alpha_bits).add_scalar_bits(shape.chips).add_scalar_bits(shape.slices);
    demo::push_digest(args, vadd.identity().digest);
    demo::push_digest(args, scale.identity().digest);
    return args;
  };
  const auto t_run = Clock::now();
  l4.run([&](Orchestrator& o) {
    for (int round = 0; round < shape.rounds; ++round) {
      for (uint32_t r = 0; r < shape.remote_nodes; ++r) {
        TaskArgs args;
        args.add(RemoteTensorRef(rx[r], 0, {shape.per_node}, DataType::FLOAT32), TensorTag::INPUT);
        args.add(RemoteTensorRef(ry[r], 0, {shape.per_node}, DataType::FLOAT32), TensorTag::INOUT);
        o.submit_next_level(remote_round, round_args(std::move(args)), CallConfig{}, remotes[r]);
      }
      o.submit_next_level(local_round_h,
                          round_args(TaskArgs()
                                         .input(lx.view(0, {shape.per_node}, DataType::FLOAT32))
                                         .inout(ly.view(0, {shape.per_node}, DataType::FLOAT32))),
                          CallConfig{}, local);
    }
  });
  const double run_ms = ms_since(t_run);

  // Results: remote shares come back over the command lane, the local one is in shared memory.
  uint64_t mismatched = 0;
  std::vector<float> got(shape.per_node);
  const auto t_copy_out = Clock::now();
  for (uint32_t n = 0; n < shape.nodes(); ++n) {
    if (n < shape.remote_nodes) {
      l4.remote_copy_from(ry[n], 0, std::as_writable_bytes(std::span(got)));
    } else {
      std::memcpy(got.data(), ly.data(), bytes);
    }
    for (uint32_t i = 0; i < shape.per_node; ++i)
      if (got[i] != reference(uint64_t{n} * shape.per_node + i, shape.rounds, alpha)) ++mismatched;
  }
  const double copy_out_ms = ms_since(t_copy_out);
  for (uint32_t r = 0; r < shape.remote_nodes; ++r) {
    l4.remote_free(rx[r]);
    l4.remote_free(ry[r]);
  }
  const uint64_t l4_tasks = l4.stats().tasks_completed;
  const uint64_t l3_tasks = uint64_t{shape.nodes()} * shape.rounds * shape.slices * 2;
  l4.close();
  if (daemon) daemon->stop();

  std::printf("echelon demo: L4 -> %u remote L3 sessions (daemon %s:%u, %s, transport %s) + 1 local L3 child, %u chips "
              "per node\n",
              shape.remote_nodes, host.c_str(), port, secret_file.empty() ? "no auth" : "HMAC auth", transport.c_str(),
              shape.chips);
  std::printf("  tasks: L4=%llu (%u nodes x %d rounds)  L3 chip kernels=%llu\n",
              static_cast<unsigned long long>(l4_tasks), shape.nodes(), shape.rounds,
              static_cast<unsigned long long>(l3_tasks));
  std::printf("  time: daemon start %.1f ms, init (sessions + children) %.1f ms, two-phase register %.2f ms, "
              "copy in %.1f ms, run %.1f ms, copy out %.1f ms\n",
              daemon_ms, init_ms, register_ms, copy_in_ms, run_ms, copy_out_ms);
  // x and y in, y out, per remote node.
  std::printf("  data: %u elements per node, %.1f MiB copied to and from remote buffers\n", shape.per_node,
              3.0 * static_cast<double>(bytes) * shape.remote_nodes / (1 << 20));
  std::printf("  check: %llu mismatched elements against the sequential reference\n",
              static_cast<unsigned long long>(mismatched));
  const bool ok = mismatched == 0 && l4_tasks == uint64_t{shape.nodes()} * shape.rounds;
  std::printf("  result: %s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
