// Builds and starts the runner's inner Worker(level=3) from the manifest (RT-904 steps 1-3).
// Must run while the process is still single-threaded: init() forks the chip and SUB children.
#pragma once
#include <memory>
#include "echelon/worker.h"
#include "remote/manifest.h"
#include "transport/deadline.h"

namespace echelon::session {

// Chips and SUBs as the manifest says, rings of heap_ring_bytes, init() bounded by `deadline`.
// StartupFailure names the step (construct, inner registry, init) on failure; nothing is left
// running.
std::unique_ptr<Worker> start_inner_worker(const remote::BootstrapManifest& manifest, transport::Deadline deadline);

}  // namespace echelon::session
