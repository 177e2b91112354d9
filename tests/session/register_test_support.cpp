#include "register_test_support.h"

#include "endpoint/remote_register_controls.h"

#include <gtest/gtest.h>

#include <cstring>

#include "wire/buffer_controls.h"
#include "wire/byte_writer.h"

namespace echelon::session_test {

using wire::ControlName;
using wire::WireStatus;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

remote::BootstrapManifest register_manifest(uint32_t num_sub_workers) {
  remote::BootstrapManifest m = test_manifest(num_sub_workers);
  m.num_chips = 1;
  for (const char* symbol : {"session_inner_probe", "session_inner_chip_increment", "session_inner_sub_store"})
    m.remote_task_dispatcher.push_back(plugin_entry(symbol));
  return m;
}

wire::RegisterCallableCommand import_text_command(RemoteRegistryTarget target, CallableKind kind,
                                                  const std::string& text, const Digest& digest) {
  wire::RegisterCallableCommand c;
  c.target = target;
  c.kind = kind;
  c.digest = digest;
  c.payload.assign(text.begin(), text.end());
  return c;
}

wire::RegisterCallableCommand native_command(RemoteRegistryTarget target, const std::string& symbol) {
  return import_text_command(target, CallableKind::NATIVE_IMPORT, "session_test:" + symbol, plugin_digest(symbol));
}

wire::ChipCallablePayload chip_payload(const ChipCallable& chip) { return remote_controls::inline_chip_payload(chip); }

wire::RegisterCallableCommand chip_command(RemoteRegistryTarget target, const wire::ChipCallablePayload& payload,
                                           const Digest& digest) {
  wire::RegisterCallableCommand c;
  c.target = target;
  c.kind = CallableKind::CHIP_CALLABLE;
  c.digest = digest;
  c.payload = wire::encode_chip_payload(payload);
  return c;
}

std::vector<uint8_t> raw_register_bytes(uint32_t target, uint32_t kind, const Digest& digest, uint32_t payload_version,
                                        const std::vector<uint8_t>& payload) {
  auto u32 = [](std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  std::vector<uint8_t> out;
  u32(out, target);
  u32(out, kind);
  out.insert(out.end(), digest.begin(), digest.end());
  u32(out, payload_version);
  u32(out, static_cast<uint32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

ControlResult prepare(RunnerSession& s, const wire::RegisterCallableCommand& command) {
  return s.run_control(ControlName::PREPARE_REGISTER_CALLABLE, wire::encode_register_command(command), REGISTER_TIMEOUT);
}

ControlResult digest_control(RunnerSession& s, ControlName name, RemoteRegistryTarget target, CallableKind kind,
                             const Digest& digest) {
  return s.run_control(name, wire::encode_digest_command({target, kind, digest}), REGISTER_TIMEOUT);
}

ControlResult commit(RunnerSession& s, RemoteRegistryTarget target, CallableKind kind, const Digest& digest) {
  return digest_control(s, ControlName::COMMIT_REGISTER_CALLABLE, target, kind, digest);
}

void register_both_phases(RunnerSession& s, const wire::RegisterCallableCommand& command) {
  const auto p = prepare(s, command);
  EXPECT_EQ(p.status, WireStatus::OK) << p.message;
  const auto c = commit(s, command.target, command.kind, command.digest);
  EXPECT_EQ(c.status, WireStatus::OK) << c.message;
}

wire::CompletionPayload run_usable_task(RunnerSession& s) {
  return s.run_task(inline_task(plugin_digest("session_check_inline_sum"), {3, 4}, {7}), REGISTER_TIMEOUT);
}

wire::CompletionPayload run_inner_probe(RunnerSession& s, const Digest& inner_digest) {
  return s.run_task(inline_task(plugin_digest("session_inner_probe"), {}, digest_scalars(inner_digest)),
                    REGISTER_TIMEOUT);
}

namespace {

std::optional<wire::AllocResult> alloc(RunnerSession& s, uint64_t nbytes) {
  const auto r = s.run_control(ControlName::ALLOC_REMOTE_BUFFER, wire::encode_alloc_request({nbytes}), REGISTER_TIMEOUT);
  if (r.status != WireStatus::OK) {
    ADD_FAILURE() << "ALLOC: " << r.message;
    return std::nullopt;
  }
  return wire::decode_alloc_result(r.result);
}

std::vector<uint8_t> read_back(RunnerSession& s, const wire::AllocResult& a) {
  const wire::CopyRequest req{WORKER_ID, a.buffer_id, a.generation, 0, a.nbytes, {}};
  const auto r = s.run_control(ControlName::COPY_FROM_REMOTE,
                               wire::encode_copy_request(req, wire::CopyDirection::FROM_REMOTE), REGISTER_TIMEOUT);
  EXPECT_EQ(r.status, WireStatus::OK) << r.message;
  return r.result;
}

}  // namespace

std::vector<uint8_t> run_inner_sub_store(RunnerSession& s, const Digest& sub_digest, uint64_t value) {
  const auto a = alloc(s, 8);
  if (!a) return {};
  wire::TaskPayload t;
  t.callable_digest = plugin_digest("session_inner_sub_store");
  add_remote_arg(t, device_desc(WORKER_ID, a->buffer_id, a->generation, 0, 8), 8, DataType::UINT8);
  t.args.scalars = digest_scalars(sub_digest);
  t.args.scalars.push_back(value);
  const auto done = s.run_task(t, REGISTER_TIMEOUT);
  if (done.status() != WireStatus::OK) {
    ADD_FAILURE() << "session_inner_sub_store: " << done.error_message;
    return {};
  }
  return read_back(s, *a);
}

std::vector<uint8_t> run_inner_chip_increment(RunnerSession& s, const Digest& kernel_digest) {
  const auto a = alloc(s, 4);
  if (!a) return {};
  const wire::CopyRequest put{WORKER_ID, a->buffer_id, a->generation, 0, 4, {1, 2, 3, 4}};
  const auto r = s.run_control(ControlName::COPY_TO_REMOTE, wire::encode_copy_request(put, wire::CopyDirection::TO_REMOTE),
                               REGISTER_TIMEOUT);
  EXPECT_EQ(r.status, WireStatus::OK) << r.message;
  wire::TaskPayload t;
  t.callable_digest = plugin_digest("session_inner_chip_increment");
  add_remote_arg(t, device_desc(WORKER_ID, a->buffer_id, a->generation, 0, 4), 4, DataType::UINT8);
  t.args.scalars = {1};
  for (uint64_t w : digest_scalars(kernel_digest)) t.args.scalars.push_back(w);
  const auto done = s.run_task(t, REGISTER_TIMEOUT);
  if (done.status() != WireStatus::OK) {
    ADD_FAILURE() << "session_inner_chip_increment: " << done.error_message;
    return {};
  }
  return read_back(s, *a);
}

}  // namespace echelon::session_test
