// Register-family controls on the real echelon-l3-session (callables.md 4, 6, 7, 10; CALL-11, -19,
// -27): the target/kind matrix, the rejection table, the digest-command semantics, two-phase
// visibility and idempotent cleanup. After every refusal the runner must still run a TASK.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "register_test_support.h"
#include "wire/hello.h"

namespace echelon::session_test {
namespace {

using wire::ControlName;
using wire::WireStatus;

Digest file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return sha256(bytes);
}

void expect_usable(RunnerSession& s, const std::string& after) {
  const auto c = run_usable_task(s);
  EXPECT_EQ(c.status(), WireStatus::OK) << "after " << after << ": " << c.error_message;
}

wire::RegisterCallableCommand python_import(RemoteRegistryTarget target) {
  return import_text_command(target, CallableKind::PYTHON_IMPORT, "pkg.mod:entry",
                             sha256(python_import_descriptor(PythonImportTarget::parse("pkg.mod:entry"))));
}

wire::RegisterCallableCommand python_serialized(RemoteRegistryTarget target) {
  Digest d;
  d.fill(0x21);
  return import_text_command(target, CallableKind::PYTHON_SERIALIZED, "SPYC-envelope-bytes", d);
}

// ---- CALL-11: every cell of the matrix --------------------------------------------------------

struct Cell {
  const char* name;
  RemoteRegistryTarget target;
  CallableKind kind;
  WireStatus prepare_answer;
};

void PrintTo(const Cell& c, std::ostream* os) { *os << c.name; }

class MatrixCellTest : public ::testing::TestWithParam<Cell> {};

TEST_P(MatrixCellTest, MatrixCell) {
  const Cell cell = GetParam();
  RunnerSession s(register_manifest());
  wire::RegisterCallableCommand command;
  switch (cell.kind) {
    case CallableKind::CHIP_CALLABLE: {
      const ChipCallable chip = test_kernel("inc_u8");
      command = chip_command(cell.target, chip_payload(chip), chip.identity().digest);
      break;
    }
    case CallableKind::PYTHON_SERIALIZED: command = python_serialized(cell.target); break;
    case CallableKind::PYTHON_IMPORT: command = python_import(cell.target); break;
    default:
      command = native_command(cell.target, cell.target == DISPATCHER ? "session_noop" : "session_sub_store_scalar");
  }
  const auto p = prepare(s, command);
  ASSERT_EQ(p.status, cell.prepare_answer) << p.message;
  const auto c = commit(s, command.target, command.kind, command.digest);
  if (cell.prepare_answer != WireStatus::OK) {
    EXPECT_TRUE(contains(p.message, command.target == DISPATCHER ? "REMOTE_TASK_DISPATCHER" : "INNER_L3_WORKER"))
        << p.message;
    EXPECT_TRUE(contains(p.message, to_hashid(command.digest))) << p.message;
    if (cell.prepare_answer == WireStatus::UNSUPPORTED)
      EXPECT_TRUE(contains(p.message, "not supported by this session")) << p.message;
    EXPECT_EQ(c.status, WireStatus::NOT_FOUND) << "a refused prepare left an entry: " << c.message;
    expect_usable(s, p.message);
    return;
  }
  ASSERT_EQ(c.status, WireStatus::OK) << c.message;
  // The installed cell runs.
  if (cell.target == DISPATCHER) {
    const auto r = wire::decode_prepare_register_result(p.result, CallableKind::NATIVE_IMPORT);
    EXPECT_EQ(r.resolved_library_sha256,
              file_sha256(std::string(ECHELON_SESSION_PLUGIN_DIR) + "/libsession_test.so"));
    const auto done = s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT);
    EXPECT_EQ(done.status(), WireStatus::OK) << done.error_message;
  } else if (cell.kind == CallableKind::CHIP_CALLABLE) {
    EXPECT_TRUE(p.result.empty());
    EXPECT_EQ(run_inner_chip_increment(s, command.digest), (std::vector<uint8_t>{2, 3, 4, 5}));
  } else {
    EXPECT_EQ(p.result.size(), 32u);
    const std::vector<uint8_t> want = {17, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(run_inner_sub_store(s, command.digest, 17), want);
  }
  expect_usable(s, "an installed cell");
}

INSTANTIATE_TEST_SUITE_P(
    RegisterControls, MatrixCellTest,
    ::testing::Values(Cell{"DispatcherChip", DISPATCHER, CallableKind::CHIP_CALLABLE, WireStatus::REJECTED},
                      Cell{"DispatcherPythonSerialized", DISPATCHER, CallableKind::PYTHON_SERIALIZED,
                           WireStatus::UNSUPPORTED},
                      Cell{"DispatcherPythonImport", DISPATCHER, CallableKind::PYTHON_IMPORT, WireStatus::UNSUPPORTED},
                      Cell{"DispatcherNativeImport", DISPATCHER, CallableKind::NATIVE_IMPORT, WireStatus::OK},
                      Cell{"InnerChip", INNER, CallableKind::CHIP_CALLABLE, WireStatus::OK},
                      Cell{"InnerPythonSerialized", INNER, CallableKind::PYTHON_SERIALIZED, WireStatus::UNSUPPORTED},
                      Cell{"InnerPythonImport", INNER, CallableKind::PYTHON_IMPORT, WireStatus::UNSUPPORTED},
                      Cell{"InnerNativeImport", INNER, CallableKind::NATIVE_IMPORT, WireStatus::OK}),
    [](const ::testing::TestParamInfo<Cell>& info) { return std::string(info.param.name); });

TEST(RegisterControls, RejectedPrepareLeavesNothingToCommit) {
  RunnerSession s(register_manifest());
  Digest other;
  other.fill(0x42);
  const ChipCallable chip = test_kernel("inc_u8");
  const std::vector<wire::RegisterCallableCommand> refused = {
      import_text_command(DISPATCHER, CallableKind::NATIVE_IMPORT, "session_test:session_noop", other),
      native_command(DISPATCHER, "session_no_such_symbol"),
      native_command(DISPATCHER, "session_sub_store_scalar"),  // a sub entry in the dispatcher
      native_command(INNER, "session_noop"),                    // an orchestration entry in the inner worker
      chip_command(DISPATCHER, chip_payload(chip), chip.identity().digest),
  };
  for (const auto& command : refused) {
    const auto p = prepare(s, command);
    EXPECT_NE(p.status, WireStatus::OK) << to_hashid(command.digest);
    const auto c = commit(s, command.target, command.kind, command.digest);
    EXPECT_EQ(c.status, WireStatus::NOT_FOUND) << p.message << " / " << c.message;
    EXPECT_EQ(s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::NOT_FOUND);
    expect_usable(s, p.message);
  }
}

// ---- CALL-27: every reachable row of the rejection table --------------------------------------

struct Row {
  std::string name;
  std::vector<uint8_t> bytes;
  WireStatus code;
  std::string says;  // the rule the message must name
};

TEST(RegisterControls, RejectionTable) {
  RunnerSession s(register_manifest());
  const ChipCallable chip = test_kernel("inc_u8");
  const Digest chip_digest = chip.identity().digest;
  const Digest noop = plugin_digest("session_noop");
  auto bytes = [](const wire::RegisterCallableCommand& c) { return wire::encode_register_command(c); };
  auto chip_bytes = [&](const wire::ChipCallablePayload& p, const Digest& d) { return bytes(chip_command(INNER, p, d)); };
  const std::vector<uint8_t> noop_text = {'s', 'e', 's', 's', 'i', 'o', 'n', '_', 't', 'e', 's', 't', ':',
                                          's', 'e', 's', 's', 'i', 'o', 'n', '_', 'n', 'o', 'o', 'p'};

  // Chip payloads broken one check at a time (callables.md 9.1), each otherwise consistent.
  auto descriptor_for = [&](std::string_view arch, std::string_view platform, const Digest& signature) {
    return chip_callable_descriptor(arch, platform, CHIP_RUNTIME, chip.blob_sha256(), signature);
  };
  const Digest real_signature = chip_signature_hash(chip.signature());
  wire::ChipCallablePayload other_blob_sha = chip_payload(chip);
  other_blob_sha.blob_sha256[0] ^= 1;  // the payload names another blob than the descriptor
  wire::ChipCallablePayload corrupted = chip_payload(chip);
  corrupted.inline_blob[corrupted.inline_blob.size() / 2] ^= 0xff;  // bytes differ from both hashes
  wire::ChipCallablePayload other_context = chip_payload(chip);
  other_context.descriptor = descriptor_for(host_target_arch(), "hw", real_signature);
  wire::ChipCallablePayload other_signature = chip_payload(chip);
  other_signature.descriptor =
      descriptor_for(host_target_arch(), CHIP_PLATFORM, chip_signature_hash(std::vector<ArgDirection>{ArgDirection::IN}));
  wire::ChipCallablePayload staged = chip_payload(chip);
  staged.blob_location = wire::BlobLocation::STAGED_BLOB;
  staged.inline_blob.clear();
  staged.staged_blob_token = {1, 2, 3};

  // Row 12 needs a live digest: noop committed in the dispatcher as NATIVE_IMPORT.
  register_both_phases(s, native_command(DISPATCHER, "session_noop"));

  const std::vector<Row> rows = {
      {"1 unknown target", raw_register_bytes(9, 4, noop, 1, noop_text), WireStatus::REJECTED, "codec"},
      {"1 unknown kind", raw_register_bytes(1, 5, noop, 1, noop_text), WireStatus::REJECTED, "codec"},
      {"2 payload version", raw_register_bytes(1, 4, noop, 2, noop_text), WireStatus::REJECTED, "payload version"},
      {"3 chip in dispatcher", bytes(chip_command(DISPATCHER, chip_payload(chip), chip_digest)), WireStatus::REJECTED,
       "target/kind matrix"},
      {"4 python serialized", bytes(python_serialized(DISPATCHER)), WireStatus::UNSUPPORTED, "kind not negotiated"},
      {"4 python import", bytes(python_import(INNER)), WireStatus::UNSUPPORTED, "kind not negotiated"},
      {"5 no colon", bytes(import_text_command(DISPATCHER, CallableKind::NATIVE_IMPORT, "session_test", noop)),
       WireStatus::REJECTED, "import text"},
      {"5 path in library", bytes(import_text_command(DISPATCHER, CallableKind::NATIVE_IMPORT, "dir/x:entry", noop)),
       WireStatus::REJECTED, "import text"},
      {"6 digest mismatch", bytes(import_text_command(DISPATCHER, CallableKind::NATIVE_IMPORT,
                                                      "session_test:session_always_fail", noop)),
       WireStatus::REJECTED, "HASHID_DESCRIPTOR_MISMATCH"},
      {"7 library not found", bytes(import_text_command(DISPATCHER, CallableKind::NATIVE_IMPORT, "no_such_lib:entry",
                                                        sha256(native_import_descriptor(
                                                            NativeImportTarget::parse("no_such_lib:entry"))))),
       WireStatus::NOT_FOUND, "plugin resolution"},
      {"8 symbol missing", bytes(native_command(DISPATCHER, "session_no_such_symbol")), WireStatus::NOT_FOUND,
       "has no symbol"},
      {"8 wrong entry type", bytes(native_command(DISPATCHER, "session_sub_store_scalar")), WireStatus::REJECTED,
       "needs a orchestration entry"},
      {"10 descriptor hash", chip_bytes(chip_payload(chip), noop), WireStatus::REJECTED, "descriptor hash"},
      {"10 descriptor/blob digest", chip_bytes(other_blob_sha, chip_digest), WireStatus::REJECTED,
       "descriptor/blob digest disagreement"},
      {"10 blob sha256", chip_bytes(corrupted, chip_digest), WireStatus::REJECTED, "blob SHA-256 mismatch"},
      {"10 context", chip_bytes(other_context, sha256(other_context.descriptor)), WireStatus::REJECTED,
       "context mismatch"},
      {"10 signature", chip_bytes(other_signature, sha256(other_signature.descriptor)), WireStatus::REJECTED,
       "signature mismatch"},
      {"11 staged blob", chip_bytes(staged, chip_digest), WireStatus::UNSUPPORTED, "STAGED_BLOB"},
      {"12 live with another kind",
       bytes(import_text_command(DISPATCHER, CallableKind::PYTHON_IMPORT, "pkg.mod:entry", noop)), WireStatus::REJECTED,
       "kind conflict"},
      // Row 13 (LOCAL_SLOT_EXHAUSTED) has no counterpart: this runner keeps no fixed-size slot
      // table (its registries are maps bounded only by memory), so there is nothing to exhaust.
  };
  for (const Row& row : rows) {
    const auto r = s.run_control(ControlName::PREPARE_REGISTER_CALLABLE, row.bytes, REGISTER_TIMEOUT);
    EXPECT_EQ(r.status, row.code) << "row " << row.name << ": " << r.message;
    EXPECT_TRUE(contains(r.message, row.says)) << "row " << row.name << ": " << r.message;
    EXPECT_TRUE(contains(r.message, "REMOTE_TASK_DISPATCHER") || contains(r.message, "INNER_L3_WORKER") ||
                contains(r.message, "registry value 9"))
        << "row " << row.name << " names no registry: " << r.message;
    EXPECT_TRUE(contains(r.message, "sha256:")) << "row " << row.name << " names no hashid: " << r.message;
    expect_usable(s, "row " + row.name);
  }
  // The chip rows left nothing prepared, and the live entry of row 12 is untouched.
  EXPECT_EQ(commit(s, INNER, CallableKind::CHIP_CALLABLE, chip_digest).status, WireStatus::NOT_FOUND);
  EXPECT_EQ(s.run_task(inline_task(noop, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
}

// ---- Digest commands ----------------------------------------------------------------------------

TEST(RegisterControls, DigestCommandSemantics) {
  RunnerSession s(register_manifest());
  const auto command = native_command(DISPATCHER, "session_noop");
  const Digest d = command.digest;
  const auto NATIVE = CallableKind::NATIVE_IMPORT;
  auto control = [&](ControlName name, RemoteRegistryTarget target, CallableKind kind) {
    return digest_control(s, name, target, kind, d);
  };
  // Unknown triple.
  EXPECT_EQ(control(ControlName::COMMIT_REGISTER_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::NOT_FOUND);
  EXPECT_EQ(control(ControlName::ABORT_REGISTER_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::OK);
  EXPECT_EQ(control(ControlName::UNREGISTER_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::OK);
  EXPECT_EQ(control(ControlName::PREPARE_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::NOT_FOUND);
  const auto inner_probe = control(ControlName::PREPARE_CALLABLE, INNER, NATIVE);
  EXPECT_EQ(inner_probe.status, WireStatus::REJECTED) << inner_probe.message;
  // A manifest entry is committed.
  EXPECT_EQ(digest_control(s, ControlName::PREPARE_CALLABLE, DISPATCHER, NATIVE,
                           plugin_digest("session_check_inline_sum")).status,
            WireStatus::OK);

  register_both_phases(s, command);
  EXPECT_EQ(control(ControlName::PREPARE_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::OK);
  // Prepare of a live digest with the same kind: OK, with the library digest; commit is a no-op.
  const auto again = prepare(s, command);
  EXPECT_EQ(again.status, WireStatus::OK) << again.message;
  EXPECT_EQ(again.result.size(), 32u);
  EXPECT_EQ(control(ControlName::COMMIT_REGISTER_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::OK);
  // Another kind than the live entry's: refused, nothing changes.
  for (ControlName name : {ControlName::COMMIT_REGISTER_CALLABLE, ControlName::ABORT_REGISTER_CALLABLE,
                           ControlName::UNREGISTER_CALLABLE, ControlName::PREPARE_CALLABLE}) {
    const auto r = control(name, DISPATCHER, CallableKind::PYTHON_IMPORT);
    EXPECT_EQ(r.status, WireStatus::REJECTED) << wire::to_string(name) << ": " << r.message;
    EXPECT_TRUE(contains(r.message, "kind mismatch")) << r.message;
  }
  EXPECT_EQ(s.run_task(inline_task(d, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
  // The same digest in the other registry is another entry.
  EXPECT_EQ(control(ControlName::COMMIT_REGISTER_CALLABLE, INNER, NATIVE).status, WireStatus::NOT_FOUND);
  EXPECT_EQ(control(ControlName::UNREGISTER_CALLABLE, INNER, NATIVE).status, WireStatus::OK);
  EXPECT_EQ(s.run_task(inline_task(d, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
  // Unregister removes it; again is OK; it can be registered again.
  EXPECT_EQ(control(ControlName::UNREGISTER_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::OK);
  EXPECT_EQ(s.run_task(inline_task(d, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::NOT_FOUND);
  EXPECT_EQ(control(ControlName::PREPARE_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::NOT_FOUND);
  EXPECT_EQ(control(ControlName::UNREGISTER_CALLABLE, DISPATCHER, NATIVE).status, WireStatus::OK);
  register_both_phases(s, command);
  EXPECT_EQ(s.run_task(inline_task(d, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
  // A malformed digest command is a codec refusal that names the control.
  const auto short_body = s.run_control(ControlName::COMMIT_REGISTER_CALLABLE, {1, 2, 3}, REGISTER_TIMEOUT);
  EXPECT_EQ(short_body.status, WireStatus::REJECTED) << short_body.message;
  EXPECT_TRUE(contains(short_body.message, "COMMIT_REGISTER_CALLABLE")) << short_body.message;
  expect_usable(s, "digest commands");
}

// ---- CALL-19 -----------------------------------------------------------------------------------

TEST(RegisterControls, PreparedIsNotVisible) {
  RunnerSession s(register_manifest());
  const auto command = native_command(DISPATCHER, "session_noop");
  ASSERT_EQ(prepare(s, command).status, WireStatus::OK);
  const auto before = s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT);
  EXPECT_EQ(before.status(), WireStatus::NOT_FOUND) << before.error_message;
  EXPECT_EQ(digest_control(s, ControlName::PREPARE_CALLABLE, DISPATCHER, command.kind, command.digest).status,
            WireStatus::NOT_FOUND);
  ASSERT_EQ(commit(s, DISPATCHER, command.kind, command.digest).status, WireStatus::OK);
  const auto after = s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT);
  EXPECT_EQ(after.status(), WireStatus::OK) << after.error_message;
}

TEST(RegisterControls, AbortIsIdempotent) {
  RunnerSession s(register_manifest());
  const auto command = native_command(DISPATCHER, "session_noop");
  ASSERT_EQ(prepare(s, command).status, WireStatus::OK);
  for (int i = 0; i < 2; ++i) {
    const auto r = digest_control(s, ControlName::ABORT_REGISTER_CALLABLE, DISPATCHER, command.kind, command.digest);
    EXPECT_EQ(r.status, WireStatus::OK) << "abort #" << i + 1 << ": " << r.message;
  }
  EXPECT_EQ(commit(s, DISPATCHER, command.kind, command.digest).status, WireStatus::NOT_FOUND);
  EXPECT_EQ(s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::NOT_FOUND);
  register_both_phases(s, command);
  EXPECT_EQ(s.run_task(inline_task(command.digest, {}, {}), REGISTER_TIMEOUT).status(), WireStatus::OK);
  s.send_shutdown();
  EXPECT_EQ(s.wait_exit(REGISTER_TIMEOUT), "exited with status 0");
}

TEST(RegisterControls, PythonSerializedNotNegotiated) {
  RunnerSession s(register_manifest());
  EXPECT_EQ(s.hello().feature_flags & wire::FEATURE_PYTHON_SERIALIZED, 0u) << "never offered by this runner";
  for (RemoteRegistryTarget target : {DISPATCHER, INNER}) {
    const auto command = python_serialized(target);
    const auto r = prepare(s, command);
    EXPECT_EQ(r.status, WireStatus::UNSUPPORTED) << r.message;
    EXPECT_TRUE(contains(r.message, "PYTHON_SERIALIZED")) << r.message;
    EXPECT_TRUE(contains(r.message, "not supported by this session")) << r.message;
    EXPECT_EQ(commit(s, target, command.kind, command.digest).status, WireStatus::NOT_FOUND);
  }
  expect_usable(s, "PYTHON_SERIALIZED");
}

}  // namespace
}  // namespace echelon::session_test
