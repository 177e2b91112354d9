#include "echelon/remote_callable.h"

namespace echelon {

RemoteCallable RemoteCallable::native(std::string_view target) {
  const NativeImportTarget parsed = NativeImportTarget::parse(target);
  return RemoteCallable(make_identity(native_import_descriptor(parsed), CallableKind::NATIVE_IMPORT,
                                      TargetNamespace::REMOTE_TASK_DISPATCHER),
                        std::string(target), nullptr);
}

RemoteCallable RemoteCallable::chip(const ChipCallable& kernel) {
  // The inner worker's namespace for a chip kernel is LOCAL_CHIP (callables.md 11).
  return RemoteCallable(kernel.identity(), std::string(), std::make_shared<const ChipCallable>(kernel));
}

const char* to_string(RemoteRegistry r) {
  switch (r) {
    case RemoteRegistry::DISPATCHER: return "REMOTE_TASK_DISPATCHER";
    case RemoteRegistry::INNER: return "INNER_L3_WORKER";
  }
  return "?";
}

const char* to_string(PairState s) {
  switch (s) {
    case PairState::ABSENT: return "ABSENT";
    case PairState::INSTALLED: return "INSTALLED";
    case PairState::TOMBSTONED: return "TOMBSTONED";
    case PairState::CLEANUP_UNCERTAIN: return "CLEANUP_UNCERTAIN";
  }
  return "?";
}

}  // namespace echelon
