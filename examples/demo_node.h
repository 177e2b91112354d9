// The node-level body of the main job, shared by the local L3 child (linked into echelon-demo)
// and the remote L3 sessions (built into the demo plugin the daemon loads). One call is one round
// of y = (x + y) * alpha over the node's share of the vector: the share is cut into slices, and
// each slice runs vadd then scale on one of the node's chips, so chips work in parallel while each
// slice's two kernels stay ordered by their data.
//
// Arguments: tensor 0 = x (read), tensor 1 = y (read/write), both FLOAT32 of the same length;
// scalars: 0 = alpha (float bits), 1 = chips on this node, 2 = slices, 3..6 = vadd digest,
// 7..10 = scale digest. Kernels are named by digest because the remote node's chip callables are
// inner registrations, which have no parent-facing handle (callables.md 3).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "echelon/callable.h"
#include "echelon/orchestrator.h"
#include "echelon/task_args.h"

namespace demo {

inline constexpr size_t kScalarCount = 11;

inline void push_digest(echelon::TaskArgs& args, const echelon::Digest& d) {
  for (size_t i = 0; i < 4; ++i) {
    uint64_t word;
    std::memcpy(&word, d.data() + 8 * i, 8);
    args.add_scalar_bits(word);
  }
}

inline echelon::Digest digest_at(const echelon::TaskArgs& args, size_t first) {
  echelon::Digest d{};
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t word = args.scalar_bits(first + i);
    std::memcpy(d.data() + 8 * i, &word, 8);
  }
  return d;
}

inline void node_round(echelon::Orchestrator& o, const echelon::TaskArgs& args, const echelon::CallConfig& cfg) {
  using namespace echelon;
  if (args.tensor_count() != 2 || args.scalar_count() != kScalarCount)
    throw std::invalid_argument("demo node round: expected 2 tensors and 11 scalars, got " +
                                std::to_string(args.tensor_count()) + " and " + std::to_string(args.scalar_count()));
  const Tensor& x = args.tensor(0);
  const Tensor& y = args.tensor(1);
  const uint64_t chips = args.scalar_bits(1), slices = args.scalar_bits(2);
  const uint64_t n = x.numel();
  if (chips == 0 || slices == 0 || n % slices != 0 || y.numel() != n)
    throw std::invalid_argument("demo node round: the vector does not split into equal slices");
  const CallableHandle vadd = o.callable(to_hashid(digest_at(args, 3)));
  const CallableHandle scale = o.callable(to_hashid(digest_at(args, 7)));
  const uint32_t len = static_cast<uint32_t>(n / slices);
  for (uint64_t s = 0; s < slices; ++s) {
    const Tensor xv = Tensor::view(x.buffer, x.byte_offset + s * len * 4, {len}, DataType::FLOAT32);
    const Tensor yv = Tensor::view(y.buffer, y.byte_offset + s * len * 4, {len}, DataType::FLOAT32);
    const auto chip = static_cast<WorkerId>(s % chips);
    o.submit_next_level(vadd, TaskArgs().input(xv).input(yv).output_existing(yv), cfg, chip);
    o.submit_next_level(scale, TaskArgs().inout(yv).add_scalar_bits(args.scalar_bits(0)), cfg, chip);
  }
}

}  // namespace demo
