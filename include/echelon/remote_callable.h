// Callables installed on remote L3 sessions (callables.md 5-7): what a parent registers, the options
// of a registration, the receipt of an inner registration, and the parent's view of one
// (worker, hashid) pair.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "echelon/callable.h"
#include "echelon/chip_callable.h"
#include "echelon/ids.h"

namespace echelon {

// A callable for a remote registry. NATIVE_IMPORT names a plugin entry ("library:symbol",
// resolved on the runner inside the daemon's --plugin-dirs); CHIP_CALLABLE carries a kernel blob
// and is valid only for the runners' inner workers (Worker::register_inner).
class RemoteCallable {
 public:
  // `target` is "library:symbol" (callables.md 2.6); throws ValidationError when malformed.
  static RemoteCallable native(std::string_view target);
  // A chip kernel for the inner Worker of remote sessions. Its descriptor is this host's (ISA,
  // platform "sim", runtime "simchip"); a runner with another context rebuilds a different
  // descriptor and refuses it at PREPARE (or at bootstrap).
  static RemoteCallable chip(const ChipCallable& kernel);

  const CallableIdentity& identity() const { return identity_; }
  std::string hashid() const { return identity_.hashid(); }
  CallableKind kind() const { return identity_.kind; }
  // "library:symbol" for NATIVE_IMPORT, empty for CHIP_CALLABLE.
  const std::string& target() const { return target_; }
  // The kernel of a CHIP_CALLABLE, null otherwise.
  const ChipCallable* kernel() const { return kernel_.get(); }

 private:
  RemoteCallable(CallableIdentity identity, std::string target, std::shared_ptr<const ChipCallable> kernel)
      : identity_(identity), target_(std::move(target)), kernel_(std::move(kernel)) {}
  CallableIdentity identity_;
  std::string target_;
  std::shared_ptr<const ChipCallable> kernel_;
};

struct RegisterOptions {
  // NATIVE_IMPORT: when the runners report different SHA-256 digests of the resolved plugin file,
  // abort the registration (HASHID_DESCRIPTOR_MISMATCH) instead of logging a warning.
  bool require_identical_plugins = false;
  // Reply deadline of each control of the registration; unset = WorkerOptions::control_timeout_s.
  std::optional<double> control_timeout_s;
};

// Which remote registry a pair belongs to (callables.md 3): the parent-facing dispatcher that
// TASK frames resolve in, or the runner's inner Worker.
enum class RemoteRegistry : uint8_t { DISPATCHER, INNER };
const char* to_string(RemoteRegistry r);

// The parent's knowledge of one (worker, hashid) pair of one registry (callables.md 7).
enum class PairState : uint8_t {
  ABSENT,             // never installed, or removed by a confirmed UNREGISTER_CALLABLE
  INSTALLED,          // dispatchable; `handle_refs` registrations hold it
  TOMBSTONED,         // the last handle is gone; the final UNREGISTER_CALLABLE is owed or failed
  CLEANUP_UNCERTAIN,  // a rollback could not be confirmed: unusable for the rest of the session
};
const char* to_string(PairState s);

struct CallableState {
  PairState state = PairState::ABSENT;
  uint32_t handle_refs = 0;  // registrations (handles) holding the pair
  uint32_t slot_refs = 0;    // submitted task slots not yet consumed
  std::string cause;         // why a pair is CLEANUP_UNCERTAIN or stuck TOMBSTONED
};

// The receipt of Worker::register_inner: names the inner callable and the workers it went to. No
// submit accepts it; orchestration code on the runner finds the callable by hashid
// (echelon::remote::inner_handle). Pass it to Worker::unregister to remove it again.
class InnerRegistration {
 public:
  InnerRegistration() = default;
  const std::string& hashid() const { return hashid_; }
  const std::vector<WorkerId>& workers() const { return workers_; }
  bool valid() const { return id_ != 0; }

 private:
  friend class RemoteCallables;
  uint64_t owner_token_ = 0;
  uint64_t id_ = 0;
  std::string hashid_;
  std::vector<WorkerId> workers_;
};

}  // namespace echelon
