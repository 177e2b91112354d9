#include "runtime/remote_args.h"

#include "core/remote_buffer_record.h"
#include "fmt/format.h"

namespace echelon {
namespace {

uint32_t needed_flags(TensorTag tag) {
  switch (required_access(tag)) {
    case AccessMode::READ: return REMOTE_ACCESS_READ;
    case AccessMode::WRITE: return REMOTE_ACCESS_WRITE;
    default: return REMOTE_ACCESS_READ_WRITE;  // INOUT, and NO_DEP, which skips only inference
  }
}

const char* flags_name(uint32_t f) {
  switch (f) {
    case REMOTE_ACCESS_READ: return "READ";
    case REMOTE_ACCESS_WRITE: return "WRITE";
    case REMOTE_ACCESS_READ_WRITE: return "READ|WRITE";
  }
  return "no access";
}

}  // namespace

std::string remote_arg_problem(const TaskArgs& args, size_t i, const EndpointCaps& caps, uint64_t issuer) {
  const Tensor& t = args.tensor(i);
  const TensorTag tag = args.tag(i);
  if (!args.remote().has(i)) {
    if (!t.bound())
      return tag == TensorTag::OUTPUT
                 ? fmt::format("remote OUTPUT tensor {} has no storage; allocate it with remote_malloc (or import it) "
                               "and pass a RemoteTensorRef", i)
                 : fmt::format("tensor {} is unbound; only an OUTPUT may be unbound", i);
    if (t.buffer.backend_kind == BackendKind::REMOTE_SIDECAR) return fmt::format("tensor {} submitted without remote sidecar", i);
    return fmt::format("tensor {} ({} in {} space) cannot be consumed by worker {}: a remote task argument must "
                       "carry no local backing", i, to_string(t.buffer.backend_kind),
                       to_string(t.buffer.address_space), caps.worker_id);
  }
  if (t.buffer.backend_kind != BackendKind::REMOTE_SIDECAR)
    return fmt::format("tensor {} ({}) cannot be consumed by worker {}: a remote task argument must carry no local "
                       "backing", i, to_string(t.buffer.backend_kind), caps.worker_id);
  const RemoteTensorDesc& d = *args.remote().descs[i];
  const uint32_t need = needed_flags(tag);
  if ((d.access_flags & need) != need)
    return fmt::format("remote tensor {} needs {} but its handle grants {} (tag {})", i, flags_name(need),
                       flags_name(d.access_flags), to_string(tag));
  if (d.address_space == RemoteSpace::HOST_INLINE) return "";
  const auto& record = args.remote().handles[i];
  if (!record) return fmt::format("remote tensor {} names a buffer but carries no handle", i);
  try {
    detail::check_handle_invariants(record->id);  // BUF-1: again at every use
  } catch (const std::exception& e) {
    return fmt::format("remote tensor {}: {}", i, e.what());
  }
  if (record->id.issuer != issuer)
    return fmt::format("remote tensor {}: the handle was not issued by this Worker", i);
  if (record->released())
    return fmt::format("remote tensor {}: handle was released (buffer {} of worker {})", i, d.buffer_id, d.owner_worker_id);
  // buffers.md 3: a rollback release that was not confirmed leaves the importer's mapping in an
  // unknown state, so that importer/buffer pair takes no new task for the rest of the session.
  if (record->owner && record->owner->cleanup_uncertain(record->id.worker))
    return fmt::format("remote tensor {}: buffer {} of worker {} imported into worker {} is import-cleanup-uncertain "
                       "(a rollback RELEASE_IMPORT was not confirmed) and takes no new task in this session",
                       i, d.buffer_id, d.owner_worker_id, record->id.worker);
  if (record->id.worker != caps.worker_id)
    return fmt::format("no eligible remote worker for this task: remote tensor {} is {} buffer {} consumable only by "
                       "worker {} (an owner handle only by its owner; import it to use it on worker {})",
                       i, to_string(d.address_space), d.buffer_id, record->id.worker, caps.worker_id);
  return "";
}

bool remote_args_consumable_by(const TaskArgs& args, const EndpointCaps& caps, uint64_t issuer) {
  if (caps.kind != EndpointKind::REMOTE_L3) return false;
  for (size_t i = 0; i < args.tensor_count(); ++i)
    if (!remote_arg_problem(args, i, caps, issuer).empty()) return false;
  return true;
}

Footprint dependency_footprint(const TaskArgs& args, const Tensor& t, size_t i) {
  if (!args.remote().has(i)) return Footprint::of(t);
  const RemoteTensorDesc& d = *args.remote().descs[i];
  Tensor placed = t;
  placed.byte_offset = d.offset;
  Footprint f = Footprint::of(placed);
  // The lattice decomposition assumes an element-aligned origin; an unaligned view is compared by
  // its byte range only, so two views sharing a byte are never reported disjoint.
  if (d.offset % element_size(t.dtype) != 0) f.canonical = false;
  return f;
}

}  // namespace echelon
