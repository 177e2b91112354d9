// RemoteWorkerSpec validation. Everything here is pure: a spec is checked completely before
// add_remote_worker creates any socket, file or process (RT-807, RT-909).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <string_view>

#include "echelon/errors.h"
#include "echelon/remote_worker.h"
#include "endpoint/remote_buffer_controls.h"
#include "fmt/format.h"
#include "remote/manifest.h"
#include "transport/endpoint_address.h"
#include "transport/transport_error.h"

namespace echelon {
namespace {

[[noreturn]] void reject(const char* field, const std::string& why) {
  throw ValidationError(fmt::format("RemoteWorkerSpec.{}: {}", field, why));
}

// A duration the manifest can carry: finite and in (0, 86400] (RT-909).
void check_duration(const char* field, double v) {
  if (!std::isfinite(v) || v <= 0 || v > 86400)
    reject(field, fmt::format("{} is not a finite number of seconds in (0, 86400]", v));
}

}  // namespace

namespace {

// The original design's hardware-gated profile names (buffers.md 9.4), in any case: refused with a
// pointer to the profile that serves the same fabrics here.
bool is_hardware_profile(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static constexpr std::string_view kNames[] = {"roce", "hccs", "ub", "ub_ldst", "hcomm", "hcomm_roce", "hcomm_hccs",
                                                "hcomm_ub", "comm_protocol_roce", "comm_protocol_hccs",
                                                "comm_protocol_ub", "a2", "a3", "a5"};
  return std::find(std::begin(kNames), std::end(kNames), lower) != std::end(kNames);
}

}  // namespace

void RemoteWorkerSpec::validate() const {
  if (host.empty()) reject("host", "is empty; give a numeric IPv4 address or \"localhost\"");
  if (port == 0) reject("port", "is required (the daemon's listening port, non-zero)");
  try {
    const auto address = transport::parse_endpoint_address(fmt::format("{}:{}", host, port));
    if (address.family != transport::AddressFamily::IPV4)
      reject("host", fmt::format("'{}' is not IPv4; remote sessions use numeric IPv4 addresses", host));
  } catch (const transport::TransportError& e) {
    reject("host", fmt::format("'{}' is not a numeric IPv4 address or \"localhost\" ({})", host, e.what()));
  }
  if (is_hardware_profile(transport_profile))
    reject("transport_profile",
           fmt::format("transport profile '{}' is not available; hardware HCOMM profiles (RoCE, HCCS, UB) are not part "
                       "of echelon v1. Use \"ucx\" for RDMA-class transports (RoCE and InfiniBand through UCX), or "
                       "\"host_tcp\"", transport_profile));
  if (transport_profile != "host_tcp" && transport_profile != "ucx")
    reject("transport_profile", fmt::format("'{}' is unknown; use \"host_tcp\" or \"ucx\"", transport_profile));
  if (num_chips > remote::MAX_CHIPS) reject("num_chips", fmt::format("{} is above {}", num_chips, remote::MAX_CHIPS));
  if (num_sub_workers > remote::MAX_SUB_WORKERS)
    reject("num_sub_workers", fmt::format("{} is above {}", num_sub_workers, remote::MAX_SUB_WORKERS));
  if (copy_chunk_bytes == 0 || copy_chunk_bytes > remote_controls::max_copy_chunk_bytes())
    reject("copy_chunk_bytes",
           fmt::format("{} is not in [1, {}] (one COPY control frame)", copy_chunk_bytes, remote_controls::max_copy_chunk_bytes()));
  if (ucx_inline_copy_max > remote_controls::max_copy_chunk_bytes())
    reject("ucx_inline_copy_max", fmt::format("{} is above {} (one COPY control frame)", ucx_inline_copy_max,
                                              remote_controls::max_copy_chunk_bytes()));
  if (heap_ring_bytes % 1024 != 0 || heap_ring_bytes < remote::MIN_HEAP_RING_BYTES ||
      heap_ring_bytes > remote::MAX_HEAP_RING_BYTES)
    reject("heap_ring_bytes", fmt::format("{} is not a multiple of 1024 in [2^20, 2^40]", heap_ring_bytes));
  check_duration("startup_timeout_s", startup_timeout_s);
  check_duration("control_timeout_s", control_timeout_s);
  check_duration("health_interval_s", health_interval_s);
  check_duration("health_expiry_s", health_expiry_s);
  check_duration("shutdown_timeout_s", shutdown_timeout_s);
  if (!std::isfinite(task_timeout_s) || task_timeout_s < 0 || task_timeout_s > 86400)
    reject("task_timeout_s", fmt::format("{} is not 0 (none) or a finite number of seconds up to 86400", task_timeout_s));
  if (health_expiry_s < 2 * health_interval_s)
    reject("health_expiry_s", fmt::format("{} is less than twice health_interval_s ({})", health_expiry_s,
                                          health_interval_s));
  if (remote_task_dispatcher.size() > remote::MAX_MANIFEST_ENTRIES)
    reject("remote_task_dispatcher", fmt::format("{} entries, at most {}", remote_task_dispatcher.size(),
                                                 remote::MAX_MANIFEST_ENTRIES));
  for (size_t i = 0; i < remote_task_dispatcher.size(); ++i) {
    try {
      (void)RemoteCallable::native(remote_task_dispatcher[i]);
    } catch (const ValidationError& e) {
      throw ValidationError(fmt::format("RemoteWorkerSpec.remote_task_dispatcher[{}]: {}", i, e.what()));
    }
  }
}

}  // namespace echelon
