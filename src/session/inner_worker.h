// Builds and starts the runner's inner Worker(level=3) from the manifest (RT-904 steps 1-3) with
// the manifest's INNER_L3_WORKER entries (callables.md 8): every entry is prepared with the checks
// of PREPARE_REGISTER_CALLABLE, registered before init() so the chip and SUB children hold it from
// the start (forked SUB children inherit the loaded plugin), then made live and its inner handle
// published. Must run while the process is still single-threaded: init() forks the children.
#pragma once
#include <memory>
#include "echelon/worker.h"
#include "remote/manifest.h"
#include "session/callable_preparer.h"
#include "session/callable_tables.h"
#include "session/import_board.h"
#include "transport/deadline.h"

namespace echelon::session {

// Chips and SUBs as the manifest says, rings of heap_ring_bytes, init() bounded by `deadline`.
// StartupFailure names the step (inner registry, construct, init) on failure; nothing is left
// running and nothing stays in `inner_table`.
std::unique_ptr<Worker> start_inner_worker(const remote::BootstrapManifest& manifest, transport::Deadline deadline,
                                           const PrepareContext& context, const ImportBoard& board,
                                           CallableTable& inner_table);

}  // namespace echelon::session
