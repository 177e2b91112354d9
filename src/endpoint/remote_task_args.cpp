#include "endpoint/remote_task_args.h"

#include "echelon/errors.h"
#include "fmt/format.h"
#include "wire/wire_error.h"

namespace echelon {

wire::RemoteTensorDescWire to_wire_desc(const RemoteTensorDesc& d) {
  wire::RemoteTensorDescWire w;
  // RemoteSpace keeps protocol.md 6.4's numbering, so the value carries over unchanged; the codec
  // rejects anything it does not know.
  w.address_space = static_cast<wire::RemoteAddressSpace>(static_cast<uint32_t>(d.address_space));
  w.owner_worker_id = d.owner_worker_id;
  w.buffer_id = d.buffer_id;
  w.offset = d.offset;
  w.nbytes = d.nbytes;
  w.remote_addr = d.remote_addr;
  w.rkey_or_token = d.rkey_or_token;
  w.generation = d.generation;
  w.inline_payload_offset = d.inline_offset;
  w.inline_payload_len = d.inline_len;
  w.flags = 0;
  return w;
}

wire::TaskPayload remote_task_payload(const DispatchRequest& request) {
  wire::TaskPayload task;
  task.callable_digest = request.callable->digest;
  task.config = *request.config;
  if (request.scalars) task.args.scalars = *request.scalars;
  static const std::vector<Tensor> kNoTensors;
  const std::vector<Tensor>& tensors = request.tensors ? *request.tensors : kNoTensors;
  const RemoteArgs* remote = request.remote;
  if (remote && remote->descs.size() > tensors.size())
    throw SubmitError(fmt::format("{} remote sidecars for {} tensor arguments", remote->descs.size(), tensors.size()));
  task.args.tensors.reserve(tensors.size());
  task.args.remote_desc.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    // The placeholder is sent verbatim; its backing must be the sidecar, never this process's memory.
    if (!t.bound() || t.buffer.backend_kind != BackendKind::REMOTE_SIDECAR)
      throw SubmitError(fmt::format("tensor {}: a remote task argument must carry no local backing ({} in {} space)", i,
                                    t.bound() ? to_string(t.buffer.backend_kind) : "unbound",
                                    to_string(t.buffer.address_space)));
    if (!remote || !remote->has(i)) throw SubmitError(fmt::format("tensor {}: tensor submitted without remote sidecar", i));
    const wire::RemoteTensorDescWire desc = to_wire_desc(*remote->descs[i]);
    try {
      wire::check_placeholder_matches_desc(t, desc);
    } catch (const wire::WireError& e) {
      throw SubmitError(fmt::format("tensor {}: the placeholder does not match its remote sidecar: {}", i, e.what()));
    }
    task.args.tensors.push_back(t);
    task.args.remote_desc.emplace_back(desc);
  }
  if (remote) task.args.inline_payload = remote->inline_arena;
  try {
    wire::validate(task);  // counts, arena bound, descriptor ranges, tensor rules, config
  } catch (const wire::WireError& e) {
    throw SubmitError(fmt::format("TASK payload: {}", e.what()));
  }
  return task;
}

}  // namespace echelon
