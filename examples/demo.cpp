// echelon-demo: the main job. A level-4 Worker runs a two-level DAG over two level-3 node
// processes; each node owns two simulated chips (child processes running kernels from the bundled
// kernel library) and two SUB processes. Each node updates its half of a vector with chip kernels
// (y = (x + y) * a, several rounds) and reduces it with SUB tasks. The result is checked against a
// sequential reference and a short summary is printed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "CLI/CLI.hpp"
#include "chip/kernels/kernel_files.h"
#include "echelon/host_buffer.h"
#include "echelon/worker.h"
#include "spdlog/spdlog.h"

using namespace echelon;

namespace {

// out[0] = sum(v) over one slice, on a SUB worker.
void reduce_sum(const SubCall& call) {
  const auto n = call.args().tensor(0).numel();
  const float* v = call.data_as<float>(0);
  double s = 0;
  for (uint64_t i = 0; i < n; ++i) s += v[i];
  *call.data_as<double>(1) = s;
}

struct Shape {
  uint32_t nodes = 2, chips = 2, subs = 2, slices = 4;
  uint32_t n = 1 << 20;
  int rounds = 4;
  uint32_t half() const { return n / nodes; }
  uint32_t slice() const { return half() / slices; }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"echelon-demo: a two-level DAG over level-3 node processes with simulated chips and SUB workers"};
  Shape shape;
  app.add_option("--elements", shape.n, "vector length")->check(CLI::Range(1u << 12, 1u << 26));
  app.add_option("--rounds", shape.rounds, "kernel rounds per node")->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  const float a = 0.5f;
  const uint32_t slice = shape.slice();

  // Host memory every process maps by name.
  HostBuffer x(uint64_t{shape.n} * 4), y(uint64_t{shape.n} * 4), partial(uint64_t{shape.nodes} * shape.slices * 8);
  for (uint32_t i = 0; i < shape.n; ++i) {
    x.data_as<float>()[i] = static_cast<float>(i % 97) * 0.25f;
    y.data_as<float>()[i] = 1.0f;
  }

  const auto vadd = ChipCallable::from_file(kernels::kernel_file("vadd"));
  const auto scale = ChipCallable::from_file(kernels::kernel_file("scale"));
  const auto reduce = NativeCallable::inproc("demo.reduce_sum", SubFn(reduce_sum));

  // Runs on a node: per slice, `rounds` of y = (x + y) * a on alternating chips, then a SUB sum.
  const auto node_body = NativeCallable::inproc(
      "demo.node_body", OrchFn([&](Orchestrator& o, const TaskArgs& args, const CallConfig& cfg) {
        const Tensor& xs = args.tensor(0);
        const Tensor& ys = args.tensor(1);
        const Tensor& ps = args.tensor(2);
        const float alpha = args.scalar_as<float>(0);
        const CallableHandle h_add = o.callable(vadd), h_scale = o.callable(scale), h_sum = o.callable(reduce);
        for (uint32_t s = 0; s < shape.slices; ++s) {
          const Tensor xv = Tensor::view(xs.buffer, xs.byte_offset + uint64_t{s} * slice * 4, {slice}, DataType::FLOAT32);
          const Tensor yv = Tensor::view(ys.buffer, ys.byte_offset + uint64_t{s} * slice * 4, {slice}, DataType::FLOAT32);
          const WorkerId chip = static_cast<WorkerId>(s % shape.chips);
          for (int r = 0; r < shape.rounds; ++r) {
            o.submit_next_level(h_add, TaskArgs().input(xv).input(yv).output_existing(yv), cfg, chip);
            o.submit_next_level(h_scale, TaskArgs().inout(yv).scalar(alpha), cfg, chip);
          }
          o.submit_sub(h_sum, TaskArgs().input(yv).output_existing(
                                  Tensor::view(ps.buffer, ps.byte_offset + uint64_t{s} * 8, {1}, DataType::UINT64)));
        }
      }));

  Worker l4(4);
  for (uint32_t c = 0; c < shape.nodes; ++c) {
    l4.add_worker({.options = {}, .setup = [&](Worker& node) {
                     for (uint32_t k = 0; k < shape.chips; ++k) node.add_chip();
                     for (uint32_t k = 0; k < shape.subs; ++k) node.add_sub();
                     node.register_callable(vadd);
                     node.register_callable(scale);
                     node.register_callable(reduce);
                   }});
  }
  const CallableHandle h_body = l4.register_callable(node_body);

  const auto t0 = std::chrono::steady_clock::now();
  l4.init();
  const auto t1 = std::chrono::steady_clock::now();
  l4.run([&](Orchestrator& o) {
    for (uint32_t c = 0; c < shape.nodes; ++c) {
      const uint64_t off = uint64_t{c} * shape.half();
      o.submit_next_level(h_body,
                          TaskArgs()
                              .input(x.view(off * 4, {shape.half()}, DataType::FLOAT32))
                              .inout(y.view(off * 4, {shape.half()}, DataType::FLOAT32))
                              .output_existing(partial.view(uint64_t{c} * shape.slices * 8, {shape.slices}, DataType::UINT64))
                              .scalar(a),
                          CallConfig{}, static_cast<WorkerId>(c));
    }
  });
  const auto t2 = std::chrono::steady_clock::now();

  // Sequential reference.
  uint64_t bad = 0;
  double expect = 0, got = 0;
  for (uint32_t c = 0; c < shape.nodes; ++c) {
    for (uint32_t s = 0; s < shape.slices; ++s) {
      for (uint32_t i = 0; i < slice; ++i) {
        const uint32_t k = c * shape.half() + s * slice + i;
        float v = 1.0f;
        for (int r = 0; r < shape.rounds; ++r) v = (static_cast<float>(k % 97) * 0.25f + v) * a;
        expect += v;
        if (y.data_as<float>()[k] != v) ++bad;
      }
      got += partial.data_as<double>()[c * shape.slices + s];
    }
  }
  const uint64_t node_tasks = uint64_t{shape.nodes} * shape.slices * (2 * shape.rounds + 1);
  const size_t processes = l4.child_pids().size() * (1 + shape.chips + shape.subs);
  std::printf("echelon demo: L4 -> %u L3 node processes -> %u chips + %u SUB workers each (%zu processes)\n",
              shape.nodes, shape.chips, shape.subs, processes);
  std::printf("  tasks: L4=%llu  L3 (chip kernels + SUB)=%llu\n",
              static_cast<unsigned long long>(l4.stats().tasks_completed), static_cast<unsigned long long>(node_tasks));
  std::printf("  init %.2f ms, run %.2f ms, checksum %.6g (reference %.6g), mismatched elements %llu\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(), got, expect, static_cast<unsigned long long>(bad));
  const bool ok = bad == 0 && std::fabs(got - expect) <= 1e-6 * std::fabs(expect);
  std::printf("  result: %s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
