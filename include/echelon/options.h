// Worker knobs. Every blocking wait has one (RT-807); all are validated before any resource exists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace echelon {

struct WorkerOptions {
  // Capacity.
  uint32_t max_live_tasks = 16384;       // slot pool size (RT-305)
  uint64_t heap_ring_bytes = 256ull << 20;  // per heap ring; 4 rings, reserved lazily (RT-306)
  uint32_t admission_depth = 2;          // open runs at once (RT-321)

  // Waits, in seconds. Zero means "none" only where noted.
  double alloc_timeout_s = 10.0;      // slot pool / heap ring full (RT-307)
  double admission_timeout_s = 60.0;  // too many open runs
  double startup_timeout_s = 300.0;   // whole subtree init
  double control_timeout_s = 30.0;    // each control to a local child
  double task_timeout_s = 0.0;        // 0 = none: local tasks are guarded by child liveness
  double close_grace_s = 10.0;        // close(): waiting for children to stop
  double stall_warning_s = 5.0;       // group reservation stall warning (RT-403)

  // Absolute directories searched for NATIVE_IMPORT plugins of LOCAL_NATIVE registrations.
  std::vector<std::string> plugin_dirs;

  // Throws ValidationError naming the knob.
  void validate() const;
};

}  // namespace echelon
