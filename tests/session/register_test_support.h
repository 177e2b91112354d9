// Helpers of the register-family runner tests: commands built the way a parent builds them (and
// raw bytes the encoder would refuse), a manifest with the entries those tests dispatch, and the
// tasks that reach inner callables through echelon::remote::inner_handle.
#pragma once
#include <chrono>
#include <string>
#include <vector>
#include "runner_harness.h"
#include "wire/register_controls.h"

namespace echelon::session_test {

using namespace std::chrono_literals;
inline constexpr auto REGISTER_TIMEOUT = 10000ms;

using wire::RemoteRegistryTarget;
inline constexpr RemoteRegistryTarget DISPATCHER = RemoteRegistryTarget::REMOTE_TASK_DISPATCHER;
inline constexpr RemoteRegistryTarget INNER = RemoteRegistryTarget::INNER_L3_WORKER;

// test_manifest(num_sub_workers) with one inner chip and the dispatcher entries that reach inner
// callables (session_inner_probe, session_inner_chip_increment, session_inner_sub_store).
remote::BootstrapManifest register_manifest(uint32_t num_sub_workers = 1);

// NATIVE_IMPORT "session_test:<symbol>" for `target`, digest computed like a parent does.
wire::RegisterCallableCommand native_command(RemoteRegistryTarget target, const std::string& symbol);
// NATIVE_IMPORT with any text and digest (for malformed or mismatching cases).
wire::RegisterCallableCommand import_text_command(RemoteRegistryTarget target, CallableKind kind,
                                                  const std::string& text, const Digest& digest);
// CHIP_CALLABLE with an inline payload built from `chip` (descriptor, blob, hashes as given).
wire::ChipCallablePayload chip_payload(const ChipCallable& chip);
wire::RegisterCallableCommand chip_command(RemoteRegistryTarget target, const wire::ChipCallablePayload& payload,
                                           const Digest& digest);
// RegisterCallableCommand bytes written field by field, so enums and versions the encoder refuses
// can be sent.
std::vector<uint8_t> raw_register_bytes(uint32_t target, uint32_t kind, const Digest& digest, uint32_t payload_version,
                                        const std::vector<uint8_t>& payload);

ControlResult prepare(RunnerSession& s, const wire::RegisterCallableCommand& command);
ControlResult digest_control(RunnerSession& s, wire::ControlName name, RemoteRegistryTarget target, CallableKind kind,
                             const Digest& digest);
ControlResult commit(RunnerSession& s, RemoteRegistryTarget target, CallableKind kind, const Digest& digest);
// PREPARE then COMMIT, both expected OK (ADD_FAILURE otherwise).
void register_both_phases(RunnerSession& s, const wire::RegisterCallableCommand& command);

// A TASK that runs and checks nothing but the dispatcher: session_check_inline_sum over {3, 4}.
wire::CompletionPayload run_usable_task(RunnerSession& s);
// session_inner_probe for `inner_digest`: OK iff inner_handle finds it.
wire::CompletionPayload run_inner_probe(RunnerSession& s, const Digest& inner_digest);
// Allocates 8 bytes, runs session_inner_sub_store with the sub entry `sub_digest` and `value`, and
// returns the 8 bytes read back (empty when a step failed; the failure is reported).
std::vector<uint8_t> run_inner_sub_store(RunnerSession& s, const Digest& sub_digest, uint64_t value);
// Allocates 4 bytes {1, 2, 3, 4}, runs session_inner_chip_increment (+1) with the inc_u8 kernel
// named `kernel_digest`, and returns the bytes read back.
std::vector<uint8_t> run_inner_chip_increment(RunnerSession& s, const Digest& kernel_digest);

bool contains(const std::string& text, const std::string& part);

}  // namespace echelon::session_test
