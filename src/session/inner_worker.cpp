#include "session/inner_worker.h"

#include <fmt/format.h>

#include <chrono>

#include "session/inner_handles.h"
#include "session/inner_installer.h"
#include "session/manifest_registrations.h"
#include "session/startup_failure.h"

namespace echelon::session {

std::unique_ptr<Worker> start_inner_worker(const remote::BootstrapManifest& manifest, transport::Deadline deadline,
                                           const PrepareContext& context, const ImportBoard& board,
                                           CallableTable& inner_table) {
  const double left_s = std::chrono::duration<double>(deadline - transport::Clock::now()).count();
  if (!(left_s > 0)) fail_startup("inner worker", "the startup deadline passed before the inner worker was built");
  // Every check runs before anything is built, so a bad entry leaves nothing to roll back.
  auto prepared = prepare_manifest_list(manifest.inner_l3_worker, wire::RemoteRegistryTarget::INNER_L3_WORKER, context);
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
  // Registered before init(): init() installs them on every child and fails if one refuses, so
  // HELLO READY is sent only once every inner entry is usable.
  const InnerInstaller installer(*inner, board);
  for (size_t i = 0; i < prepared.size(); ++i) {
    try {
      installer.install(prepared[i].digest, prepared[i].entry);
    } catch (const std::exception& e) {
      for (size_t j = 0; j < i; ++j) withdraw_imported_entry(prepared[j].digest);
      throw StartupFailure(remote::ReplyErrorType::RegistryError,
                           fmt::format("manifest.inner_l3_worker[{}] ({}): installing on the inner worker: {}", i,
                                       to_hashid(prepared[i].digest), e.what()));
    }
  }
  try {
    inner->init();
  } catch (const std::exception& e) {
    for (const auto& p : prepared) withdraw_imported_entry(p.digest);
    fail_startup("inner_worker.init()", e.what());  // init() already rolled its children back
  }
  for (auto& p : prepared) {
    publish_inner_handle(p.digest, *p.entry.inner_handle);
    inner_table.make_live(p.digest, std::move(p.entry));
  }
  return inner;
}

}  // namespace echelon::session
