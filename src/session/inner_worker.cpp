#include "session/inner_worker.h"

#include <fmt/format.h>

#include <chrono>

#include "echelon/chip_callable.h"
#include "session/startup_failure.h"
#include "wire/register_controls.h"

namespace echelon::session {

namespace {

// Every chip child verifies and loads the blob before register_callable returns, so HELLO READY
// is sent only once all inner kernels are usable. The locally built descriptor must hash to the
// manifest's digest: a blob built for another target is refused rather than silently renamed.
void install_inner_entries(Worker& inner, const remote::BootstrapManifest& manifest) {
  for (size_t i = 0; i < manifest.inner_l3_worker.size(); ++i) {
    const auto& e = manifest.inner_l3_worker[i];
    try {
      const wire::ChipCallablePayload payload = wire::decode_chip_payload(e.chip_payload);
      ChipCallable chip = ChipCallable::from_bytes(payload.inline_blob);
      if (chip.identity().digest != e.digest)
        throw std::runtime_error(fmt::format("the kernel's descriptor on this host hashes to {}", chip.hashid()));
      inner.register_callable(chip);
    } catch (const std::exception& ex) {
      throw StartupFailure(remote::ReplyErrorType::RegistryError,
                           fmt::format("manifest.inner_l3_worker[{}] ({}): {}", i, e.hashid(), ex.what()));
    }
  }
}

}  // namespace

std::unique_ptr<Worker> start_inner_worker(const remote::BootstrapManifest& manifest, transport::Deadline deadline) {
  const double left_s = std::chrono::duration<double>(deadline - transport::Clock::now()).count();
  if (!(left_s > 0)) fail_startup("inner worker", "the startup deadline passed before the inner worker was built");
  // Only chip kernels can be inner entries in this build; a native SUB entry would need its
  // library resolved in the plugin dirs and installed before fork. Refuse before building anything.
  for (size_t i = 0; i < manifest.inner_l3_worker.size(); ++i) {
    const auto& e = manifest.inner_l3_worker[i];
    if (e.kind != CallableKind::CHIP_CALLABLE)
      throw StartupFailure(remote::ReplyErrorType::RegistryError,
                           fmt::format("manifest.inner_l3_worker[{}] ({}): {} inner entries are not supported by this "
                                       "runner; only CHIP_CALLABLE",
                                       i, e.hashid(), to_string(e.kind)));
    if (manifest.num_chips == 0)
      throw StartupFailure(remote::ReplyErrorType::RegistryError,
                           fmt::format("manifest.inner_l3_worker[{}] ({}): a chip kernel needs num_chips > 0", i,
                                       e.hashid()));
  }
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
  install_inner_entries(*inner, manifest);
  return inner;
}

}  // namespace echelon::session
