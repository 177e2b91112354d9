// A task's bookkeeping, in parent memory only. Every field is guarded by the engine lock, except
// the member dispatch data, which is immutable from publication until the slot is consumed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echelon/call_config.h"
#include "echelon/callable.h"
#include "echelon/endpoint.h"
#include "echelon/ids.h"
#include "echelon/tensor.h"
#include "core/remote_slot_refs.h"
#include "runtime/remote_pairs.h"

namespace echelon {

struct RunState;

enum class EdgeKind : uint8_t {
  DATA,   // RAW: a failed source poisons the consumer
  ORDER,  // WAR / pure WAW: waits for a terminal source, never poisons
};

struct Edge {
  uint32_t consumer;
  EdgeKind kind;
};

struct Member {
  WorkerId target = kNoWorker;  // kNoWorker for SUB members
  int32_t lane = -1;            // NEXT_LEVEL: fixed at submit; SUB: chosen at dispatch
  std::vector<Tensor> tensors;
  std::vector<uint64_t> scalars;
  // The member's own copy of the remote sidecar (the user may reuse the TaskArgs); empty unless an
  // argument is remote. Handed to the endpoint as DispatchRequest::remote.
  RemoteArgs remote;
  MemberState state = MemberState::NOT_DISPATCHED;
  uint64_t dispatch_id = 0;
};

struct HeapSlab {
  int ring = -1;
  uint64_t offset = 0;
};

struct OwnedEntry {
  CanonicalIdentity key;
  uint64_t entry_id;
};

struct TaskSlot {
  uint32_t index = 0;
  uint32_t generation = 0;
  TaskState state = TaskState::FREE;
  RunState* run = nullptr;

  // What to run.
  bool is_sub = false;
  bool is_group = false;
  bool synthetic = false;  // alloc() placeholder: born COMPLETED, never dispatched
  CallableIdentity callable;
  CallConfig config;
  std::vector<Member> members;

  // Graph.
  uint32_t live_fanin = 0;
  std::vector<Edge> consumers;
  std::vector<uint32_t> producers;  // one fanout reference held on each
  uint32_t fanout_total = 0;        // scope reference + consumer edges
  uint32_t fanout_released = 0;     // + 1 for the slot's own release at terminal

  // Outcome.
  uint32_t terminal_members = 0;
  int32_t first_failed_member = -1;
  std::string error;  // root or "poisoned by ..." message

  // Resources released at CONSUMED.
  std::vector<OwnedEntry> map_entries;
  HeapSlab heap;
  // One reference per remote buffer the members name (buffers.md 6), dropped at CONSUMED.
  detail::RemoteSlotRefs remote_refs;
  detail::PairSlotRefs pair_refs;  // remote dispatcher pairs (callables.md 7)

  bool terminal() const { return state == TaskState::COMPLETED || state == TaskState::FAILED; }

  // Clears per-task state for reuse while keeping vector capacity (no allocation in steady state).
  void reset_for_reuse() {
    state = TaskState::FREE;
    run = nullptr;
    is_sub = is_group = synthetic = false;
    for (auto& m : members) {
      m.tensors.clear();
      m.scalars.clear();
      m.remote.descs.clear();
      m.remote.inline_arena.clear();
      m.remote.handles.clear();
    }
    members.clear();
    live_fanin = 0;
    consumers.clear();
    producers.clear();
    fanout_total = fanout_released = 0;
    terminal_members = 0;
    first_failed_member = -1;
    error.clear();
    map_entries.clear();
    heap = HeapSlab{};
    remote_refs.release_all();
    pair_refs.release_all();
  }
};

}  // namespace echelon
