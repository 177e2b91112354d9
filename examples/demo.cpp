// echelon-demo: the main job. An L4 Worker runs a two-level DAG over two L3 children; each L3
// child splits its share of a vector computation into SUB tasks. Results are checked against a
// sequential reference and a short summary is printed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "CLI/CLI.hpp"
#include "echelon/host_buffer.h"
#include "echelon/worker.h"
#include "spdlog/spdlog.h"

using namespace echelon;

namespace {

// y[i] = a * x[i] + y[i] over one SUB task's slice.
void saxpy(const SubCall& call) {
  const float a = call.args().scalar_as<float>(0);
  const auto n = call.args().tensor(0).numel();
  const float* x = call.data_as<float>(0);
  float* y = call.data_as<float>(1);
  for (uint64_t i = 0; i < n; ++i) y[i] = a * x[i] + y[i];
}

// out[0] = sum(y) over one slice.
void reduce_sum(const SubCall& call) {
  const auto n = call.args().tensor(0).numel();
  const float* y = call.data_as<float>(0);
  double s = 0;
  for (uint64_t i = 0; i < n; ++i) s += y[i];
  *call.data_as<double>(1) = s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"echelon-demo: runs an example DAG across a level-4 Worker and two level-3 children"};
  uint32_t n = 1 << 20;
  int rounds = 8;
  int subs = 2;
  app.add_option("--elements", n, "vector length")->check(CLI::Range(1024u, 1u << 26));
  app.add_option("--rounds", rounds, "saxpy rounds per L3 child")->check(CLI::Range(1, 1000));
  app.add_option("--subs", subs, "SUB workers per L3 child")->check(CLI::Range(1, 16));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const uint32_t children = 2;
  const uint32_t half = n / children;
  const uint32_t slices = static_cast<uint32_t>(subs) * 2;
  const uint32_t slice = half / slices;

  HostBuffer x(uint64_t{n} * sizeof(float)), y(uint64_t{n} * sizeof(float));
  HostBuffer partial(uint64_t{children} * slices * sizeof(double));
  for (uint32_t i = 0; i < n; ++i) {
    x.data_as<float>()[i] = static_cast<float>(i % 97) * 0.25f;
    y.data_as<float>()[i] = 1.0f;
  }

  const auto sub_saxpy = NativeCallable::inproc("demo.saxpy", SubFn(saxpy));
  const auto sub_reduce = NativeCallable::inproc("demo.reduce_sum", SubFn(reduce_sum));

  Worker l4(4);
  for (uint32_t c = 0; c < children; ++c) {
    l4.add_worker({.options = {}, .setup = [&](Worker& l3) {
                     for (int s = 0; s < subs; ++s) l3.add_sub();
                     l3.register_callable(sub_saxpy);
                     l3.register_callable(sub_reduce);
                   }});
  }
  // Runs on an L3 child: `rounds` dependent saxpy waves over its half, then per-slice sums.
  auto l3_body = NativeCallable::inproc(
      "demo.l3_body", OrchFn([&](Orchestrator& o, const TaskArgs& args, const CallConfig&) {
        const Tensor& xs = args.tensor(0);
        const Tensor& ys = args.tensor(1);
        const Tensor& ps = args.tensor(2);
        const float a = args.scalar_as<float>(0);
        const CallableHandle h_saxpy = o.callable(sub_saxpy), h_reduce = o.callable(sub_reduce);
        for (int r = 0; r < rounds; ++r) {
          for (uint32_t s = 0; s < slices; ++s) {
            TaskArgs t;
            t.input(Tensor::view(xs.buffer, xs.byte_offset + uint64_t{s} * slice * 4, {slice}, DataType::FLOAT32));
            t.inout(Tensor::view(ys.buffer, ys.byte_offset + uint64_t{s} * slice * 4, {slice}, DataType::FLOAT32));
            t.scalar(a);
            o.submit_sub(h_saxpy, std::move(t));
          }
        }
        for (uint32_t s = 0; s < slices; ++s) {
          TaskArgs t;
          t.input(Tensor::view(ys.buffer, ys.byte_offset + uint64_t{s} * slice * 4, {slice}, DataType::FLOAT32));
          t.output_existing(Tensor::view(ps.buffer, ps.byte_offset + uint64_t{s} * 8, {1}, DataType::UINT64));
          o.submit_sub(h_reduce, std::move(t));
        }
      }));
  const CallableHandle h_body = l4.register_callable(l3_body);

  const auto t0 = std::chrono::steady_clock::now();
  l4.init();
  const auto t1 = std::chrono::steady_clock::now();
  const float a = 0.5f;
  l4.run([&](Orchestrator& o) {
    for (uint32_t c = 0; c < children; ++c) {
      TaskArgs t;
      t.no_dep(Tensor::view(x.descriptor(), uint64_t{c} * half * 4, {half}, DataType::FLOAT32));
      t.inout(Tensor::view(y.descriptor(), uint64_t{c} * half * 4, {half}, DataType::FLOAT32));
      t.output_existing(Tensor::view(partial.descriptor(), uint64_t{c} * slices * 8, {slices}, DataType::UINT64));
      t.scalar(a);
      o.submit_next_level(h_body, std::move(t), CallConfig{}, static_cast<WorkerId>(c));
    }
  });
  const auto t2 = std::chrono::steady_clock::now();

  // Sequential reference.
  double expect = 0, got = 0;
  uint64_t bad = 0;
  for (uint32_t c = 0; c < children; ++c) {
    for (uint32_t s = 0; s < slices; ++s) {
      double ref = 0;
      for (uint32_t i = 0; i < slice; ++i) {
        const uint32_t k = c * half + s * slice + i;
        float v = 1.0f;
        for (int r = 0; r < rounds; ++r) v = a * (static_cast<float>(k % 97) * 0.25f) + v;
        ref += v;
        if (y.data_as<float>()[k] != v) ++bad;
      }
      expect += ref;
      got += partial.data_as<double>()[c * slices + s];
    }
  }
  const WorkerStats st = l4.stats();
  const uint64_t l3_tasks = uint64_t{children} * (uint64_t(rounds) * slices + slices);
  std::printf("echelon demo: L4 -> %u L3 child processes -> %d SUB processes each\n", children, subs);
  std::printf("  tasks: L4=%llu  L3 (SUB)=%llu\n", static_cast<unsigned long long>(st.tasks_completed),
              static_cast<unsigned long long>(l3_tasks));
  std::printf("  init %.2f ms, run %.2f ms, checksum %.6g (reference %.6g), mismatched elements %llu\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(), got, expect,
              static_cast<unsigned long long>(bad));
  const bool ok = bad == 0 && std::fabs(got - expect) <= 1e-9 * std::fabs(expect);
  std::printf("  result: %s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
