// echelon-bench wire: TASK encode/decode latency and HOST_INLINE decode throughput of the codec.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "bench_suite.h"
#include "wire/byte_writer.h"
#include "wire/frame_header.h"
#include "wire/task_payload.h"

namespace {

using namespace echelon;
using namespace echelon::wire;
using Clock = std::chrono::steady_clock;

// A TASK as the remote endpoint would send it: `tensors` device/window/inline arguments with their
// sidecars, `scalars` scalars, and `inline_bytes` of HOST_INLINE arena (one extra argument).
TaskPayload build_task(size_t tensors, size_t scalars, size_t inline_bytes) {
  TaskPayload t;
  for (size_t i = 0; i < t.callable_digest.size(); ++i) t.callable_digest[i] = static_cast<uint8_t>(i);
  const uint32_t shape[] = {32, 32};
  for (size_t i = 0; i < tensors; ++i) {
    RemoteTensorDescWire d;
    d.address_space = i % 2 ? RemoteAddressSpace::REMOTE_WINDOW : RemoteAddressSpace::REMOTE_DEVICE;
    d.owner_worker_id = 1;
    d.buffer_id = i + 1;
    d.offset = 4096 * i;
    d.nbytes = 32 * 32 * 4;
    d.rkey_or_token = i % 2 ? i + 1 : 0;
    d.generation = 1;
    t.args.tensors.push_back(remote_placeholder(d, shape, DataType::FLOAT32));
    t.args.remote_desc.push_back(d);
  }
  for (size_t i = 0; i < scalars; ++i) t.args.scalars.push_back(i * 7);
  if (inline_bytes) {
    t.args.inline_payload.assign(inline_bytes, 0xA5);
    RemoteTensorDescWire d;
    d.address_space = RemoteAddressSpace::HOST_INLINE;
    d.nbytes = d.inline_payload_len = inline_bytes;
    const uint32_t n[] = {static_cast<uint32_t>(inline_bytes)};
    t.args.tensors.push_back(remote_placeholder(d, n, DataType::UINT8));
    t.args.remote_desc.push_back(d);
  }
  return t;
}

std::vector<uint8_t> encode_task_frame(ByteWriter& w, const TaskPayload& t) {
  w.clear();
  const size_t start = begin_frame(w, FrameType::TASK, {0x1234, 1, 1, 0});
  write_task(w, t);
  end_frame(w, start);
  return {w.bytes().begin(), w.bytes().end()};
}

// Median over `rounds` of the mean time of `batch` calls, in nanoseconds per call.
template <typename Fn>
double median_ns_per_call(size_t rounds, size_t batch, Fn&& fn) {
  std::vector<double> samples;
  for (size_t r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (size_t i = 0; i < batch; ++i) fn();
    const auto t1 = Clock::now();
    samples.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(batch));
  }
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2), samples.end());
  return samples[samples.size() / 2];
}

void run_wire(const bench::BenchOptions& opts, bench::Report& report) {
  const size_t rounds = opts.quick ? 7 : 31;
  volatile size_t sink = 0;

  // 16 tensors with sidecars and 16 scalars; the writer and decoded payload are reused as a
  // long-lived endpoint and runner would reuse them.
  const TaskPayload task16 = build_task(16, 16, 0);
  ByteWriter writer;
  const std::vector<uint8_t> frame16 = encode_task_frame(writer, task16);
  const double encode_ns = median_ns_per_call(rounds, opts.quick ? 2000 : 20000, [&] {
    writer.clear();
    const size_t start = begin_frame(writer, FrameType::TASK, {0x1234, 1, 1, 0});
    write_task(writer, task16);
    end_frame(writer, start);
    sink = sink + writer.size();
  });
  TaskPayload decoded;
  const double decode_ns = median_ns_per_call(rounds, opts.quick ? 2000 : 20000, [&] {
    const FrameView f = decode_frame(frame16);
    decode_task_into(f.payload, decoded);
    sink = sink + decoded.args.tensors.size();
  });
  if (!(decoded == task16)) std::fprintf(stderr, "wire bench: decoded TASK differs from the original\n");

  // Arena throughput: a TASK whose payload is one 1 MiB HOST_INLINE argument.
  const TaskPayload inline_task = build_task(0, 0, MAX_INLINE_PAYLOAD_BYTES);
  const std::vector<uint8_t> inline_frame = encode_task_frame(writer, inline_task);
  TaskPayload inline_out;
  const double inline_ns = median_ns_per_call(rounds, opts.quick ? 20 : 200, [&] {
    const FrameView f = decode_frame(inline_frame);
    decode_task_into(f.payload, inline_out);
    sink = sink + inline_out.args.inline_payload.size();
  });
  const double mb_per_s = static_cast<double>(inline_frame.size()) / (inline_ns * 1e-9) / 1e6;
  // The same with a fresh payload per decode: allocation and first-touch page faults included.
  const double fresh_ns = median_ns_per_call(rounds, opts.quick ? 20 : 200, [&] {
    const TaskPayload fresh = decode_task(decode_frame(inline_frame).payload);
    sink = sink + fresh.args.inline_payload.size();
  });
  const double fresh_mb_per_s = static_cast<double>(inline_frame.size()) / (fresh_ns * 1e-9) / 1e6;

  report.figure("wire_task16_frame_bytes", static_cast<double>(frame16.size()));
  report.figure("wire_task16_encode_ns", encode_ns);
  report.figure("wire_task16_decode_ns", decode_ns);
  report.figure("wire_decode_mb_per_s", mb_per_s);
  report.figure("wire_decode_fresh_alloc_mb_per_s", fresh_mb_per_s);
}

}  // namespace

ECHELON_BENCH_SUITE(wire, "wire", "frame codec encode/decode", run_wire);
