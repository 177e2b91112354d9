#include "session/inner_worker.h"

#include <fmt/format.h>

#include <chrono>

#include "session/startup_failure.h"

namespace echelon::session {

std::unique_ptr<Worker> start_inner_worker(const remote::BootstrapManifest& manifest, transport::Deadline deadline) {
  const double left_s = std::chrono::duration<double>(deadline - transport::Clock::now()).count();
  if (!(left_s > 0)) fail_startup("inner worker", "the startup deadline passed before the inner worker was built");
  // Inner registrations (callables.md 8) need an install path into the inner Worker's children
  // before fork; until it exists, refuse them rather than start a session that lacks them.
  if (!manifest.inner_l3_worker.empty())
    throw StartupFailure(remote::ReplyErrorType::RegistryError,
                         fmt::format("manifest.inner_l3_worker[0] ({}): inner registrations are not supported by "
                                     "this runner yet",
                                     manifest.inner_l3_worker.front().hashid()));
  std::unique_ptr<Worker> inner;
  try {
    WorkerOptions options;
    options.heap_ring_bytes = manifest.heap_ring_bytes;
    options.startup_timeout_s = left_s;
    options.close_grace_s = manifest.shutdown_timeout_s;
    inner = std::make_unique<Worker>(3, options);
    for (uint32_t i = 0; i < manifest.num_chips; ++i) inner->add_chip();
    for (uint32_t i = 0; i < manifest.num_sub_workers; ++i) inner->add_sub(ChildIsolation::PROCESS);
  } catch (const std::exception& e) {
    fail_startup("constructing the inner worker", e.what());
  }
  try {
    inner->init();
  } catch (const std::exception& e) {
    fail_startup("inner_worker.init()", e.what());  // init() already rolled its children back
  }
  return inner;
}

}  // namespace echelon::session
