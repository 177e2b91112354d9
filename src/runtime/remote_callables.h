// A Worker's remote registrations (callables.md 5-8): dispatcher handles and inner registrations,
// before init() through the bootstrap manifests, after it through the two-phase transaction; the
// per-pair states; unregister with tombstones and the deferred final UNREGISTER_CALLABLE.
//
// Ordering. Every register, commit and unregister control travels on the worker's command lane,
// which carries TASKs in the same FIFO, so no TASK can overtake them (callables.md 6, protocol.md
// 12). Registrations and unregistrations of this Worker are serialized with one mutex, so two calls
// never interleave their controls on one pair.
//
// Deferred unregister. When the last handle of a pair goes, the pair is TOMBSTONED; its
// UNREGISTER_CALLABLE is sent once no submitted task slot references the pair: at once from
// unregister() when none does, otherwise at the next flush point (the end of a wait for a run, the
// next registration or unregistration).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "echelon/native_callable.h"
#include "echelon/remote_callable.h"
#include "runtime/callable_registry.h"
#include "runtime/register_transaction.h"

namespace echelon {

class RemoteCallables {
 public:
  // How remote workers are reached and named: the lane of a worker (for handle scopes), and how a
  // registration made before init() reaches a worker's bootstrap manifest.
  struct Wiring {
    std::function<uint32_t(WorkerId)> lane_of;
    std::function<void(WorkerId, RemoteRegistry, const RemoteCallable&)> add_manifest_entry;
  };

  RemoteCallables(ControlPort& port, CallableRegistry& registry, Wiring wiring, double control_timeout_s)
      : port_(port), registry_(registry), wiring_(std::move(wiring)), control_timeout_s_(control_timeout_s) {}

  // `workers` is already checked (non-empty, distinct, remote ids). Before init the registration
  // is recorded for the manifests; after it, it runs the two-phase transaction and returns only
  // once every named worker committed. Throws CallableError (REGISTER_*, HASHID_*).
  CallableHandle register_dispatcher(const RemoteCallable& callable, std::vector<WorkerId> workers, bool initialized,
                                     const RegisterOptions& options);
  InnerRegistration register_inner(const RemoteCallable& callable, std::vector<WorkerId> workers, bool initialized,
                                   const RegisterOptions& options);

  // Consumes a dispatcher handle. Never throws for a remote cleanup failure: the pair stays
  // TOMBSTONED and the failure is logged and queryable.
  void unregister(const CallableHandle& handle, bool initialized);
  void unregister(const InnerRegistration& registration, bool initialized);

  // Before the sessions open: every registration made before init() into the manifests of
  // exactly its workers.
  void write_manifests();
  // Sends every final UNREGISTER_CALLABLE that nothing holds back any more. `wait` = false skips
  // the flush when a registration is in progress (the run-wait hook must not block behind one).
  void flush_due(bool wait = true) noexcept;

  CallableState state(RemoteRegistry registry, WorkerId worker, const Digest& digest) const;

 private:
  struct PendingManifest {
    RemoteRegistry registry;
    RemoteCallable callable;
    std::vector<WorkerId> workers;
  };
  struct InnerRecord {
    CallableKind kind;
    Digest digest;
    std::vector<WorkerId> workers;
  };

  // Pair checks and, after init, the transaction; adds one handle reference per worker.
  void install(RemoteRegistry registry, const RemoteCallable& callable, const std::vector<WorkerId>& workers,
               bool initialized, const RegisterOptions& options);
  void release_pairs(RemoteRegistry registry, const Digest& digest, const std::vector<WorkerId>& workers,
                     bool initialized);
  void flush_locked() noexcept;

  ControlPort& port_;
  CallableRegistry& registry_;
  Wiring wiring_;
  double control_timeout_s_;
  std::mutex mu_;  // serializes registrations, unregistrations and flushes
  std::vector<PendingManifest> pending_;
  uint64_t next_inner_id_ = 1;
  std::map<uint64_t, InnerRecord> inner_;
};

}  // namespace echelon
