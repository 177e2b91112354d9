#include "remote/manifest.h"

#include <gtest/gtest.h>

#include <optional>

#include "remote_test_support.h"

namespace echelon::remote {
namespace {

using json = nlohmann::json;
using test::chip_entry;
using test::native_entry;
using test::valid_manifest_json;

std::string dump(const json& j) { return j.dump(); }

struct BadKeyRow {
  const char* name;
  const char* json_pointer;       // key to change ("/a/0/b"); erased when `value` is empty
  std::optional<json> value;
  const char* expected_path;
  const char* expected_reason;   // substring of the reason
  ManifestPolicy policy{};
};

std::vector<BadKeyRow> bad_key_rows() {
  const json no_value;
  std::vector<BadKeyRow> rows = {
      {"version_wrong", "/manifest_version", 2, "manifest.manifest_version", "must be <= 1, got 2"},
      {"version_string", "/manifest_version", "1", "manifest.manifest_version", "must be an integer"},
      {"version_fraction", "/manifest_version", 1.0, "manifest.manifest_version", "no fraction or exponent"},
      {"version_missing", "/manifest_version", std::nullopt, "manifest.manifest_version", "required key is missing"},
      {"session_missing", "/session_id", std::nullopt, "manifest.session_id", "required key is missing"},
      {"session_number", "/session_id", 5, "manifest.session_id", "must be a string"},
      {"session_zero", "/session_id", "0", "manifest.session_id", "without leading zeros"},
      {"session_leading_zero", "/session_id", "012", "manifest.session_id", "without leading zeros"},
      {"session_not_digits", "/session_id", "12a", "manifest.session_id", "decimal digits only"},
      {"session_20_digits", "/session_id", "12345678901234567890", "manifest.session_id", "1-19 decimal digits"},
      {"session_above_2p63", "/session_id", "9223372036854775808", "manifest.session_id", "at most 2^63-1"},
      {"worker_negative", "/worker_id", -1, "manifest.worker_id", "must be >= 0, got -1"},
      {"worker_too_big", "/worker_id", 2147483648LL, "manifest.worker_id", "must be <= 2147483647"},
      {"worker_null", "/worker_id", nullptr, "manifest.worker_id", "got null"},
      {"parent_level_low", "/parent_worker_level", 3, "manifest.parent_worker_level", "must be >= 4"},
      {"parent_level_high", "/parent_worker_level", 7, "manifest.parent_worker_level", "must be <= 6"},
      {"remote_level", "/remote_worker_level", 2, "manifest.remote_worker_level", "must be >= 3"},
      {"profile_unknown", "/transport_profile", "tcp", "manifest.transport_profile", "must be \"host_tcp\" or \"ucx\""},
      {"profile_ucx_unbuilt", "/transport_profile", "ucx", "manifest.transport_profile", "not available"},
      {"chips_high", "/num_chips", 65, "manifest.num_chips", "must be <= 64"},
      {"chips_negative", "/num_chips", -1, "manifest.num_chips", "must be >= 0"},
      {"subs_high", "/num_sub_workers", 65, "manifest.num_sub_workers", "must be <= 64"},
      {"heap_small", "/heap_ring_bytes", 1048575, "manifest.heap_ring_bytes", "must be >= 1048576"},
      {"heap_large", "/heap_ring_bytes", (1ULL << 40) + 1024, "manifest.heap_ring_bytes", "must be <= 1099511627776"},
      {"heap_unaligned", "/heap_ring_bytes", 1048577, "manifest.heap_ring_bytes", "multiple of 1024"},
      {"budget_missing", "/startup_budget_s", std::nullopt, "manifest.startup_budget_s", "required key is missing"},
      {"budget_zero", "/startup_budget_s", 0, "manifest.startup_budget_s", "must be > 0, got 0"},
      {"budget_negative", "/startup_budget_s", -1, "manifest.startup_budget_s", "must be > 0, got -1"},
      {"budget_too_long", "/startup_budget_s", 86400.5, "manifest.startup_budget_s", "must be <= 86400"},
      {"budget_string", "/startup_budget_s", "5", "manifest.startup_budget_s", "must be a number of seconds"},
      {"interval_negative", "/health_interval_s", -1, "manifest.health_interval_s", "must be > 0, got -1"},
      {"interval_zero", "/health_interval_s", 0.0, "manifest.health_interval_s", "must be > 0"},
      {"expiry_below_twice", "/health_expiry_s", 0.3, "manifest.health_expiry_s", ">= 2 x health_interval_s (0.2)"},
      {"expiry_null", "/health_expiry_s", nullptr, "manifest.health_expiry_s", "got null"},
      {"shutdown_zero", "/shutdown_timeout_s", 0, "manifest.shutdown_timeout_s", "must be > 0"},
      {"requested_above_2p53", "/requested_features", 1ULL << 53, "manifest.requested_features", "must be <="},
      {"required_not_requested", "/required_features", 1, "manifest.required_features", "required but not requested"},
      {"window_zero", "/pipeline_window", 0, "manifest.pipeline_window", "must be >= 1"},
      {"window_17", "/pipeline_window", 17, "manifest.pipeline_window", "must be <= 16"},
      {"window_without_feature", "/pipeline_window", 2, "manifest.pipeline_window", "FEATURE_PIPELINED_TASKS"},
      {"ucx_addr_on_tcp", "/ucx_parent_command_worker_addr", "abcd", "manifest.ucx_parent_command_worker_addr",
       "only with transport_profile \"ucx\""},
      {"dispatcher_not_array", "/remote_task_dispatcher", "x", "manifest.remote_task_dispatcher", "must be an array"},
      {"inner_object", "/inner_l3_worker", json::object(), "manifest.inner_l3_worker", "must be an array"},
      {"unknown_top_key", "/extra", 1, "manifest.extra", "unknown key"},
      // Entries (callables.md 8).
      {"entry_not_object", "/remote_task_dispatcher/0", 5, "manifest.remote_task_dispatcher[0]", "must be a JSON object"},
      {"hashid_missing", "/remote_task_dispatcher/0/hashid", std::nullopt, "manifest.remote_task_dispatcher[0].hashid",
       "required key is missing"},
      {"hashid_uppercase", "/remote_task_dispatcher/0/hashid", "sha256:" + std::string(64, 'A'),
       "manifest.remote_task_dispatcher[0].hashid", "HASHID_FORMAT_INVALID"},
      {"hashid_md5", "/remote_task_dispatcher/0/hashid", "md5:" + std::string(64, 'a'),
       "manifest.remote_task_dispatcher[0].hashid", "HASHID_FORMAT_INVALID"},
      {"hashid_63_digits", "/remote_task_dispatcher/0/hashid", std::string(63, 'a'),
       "manifest.remote_task_dispatcher[0].hashid", "HASHID_FORMAT_INVALID"},
      {"hashid_other_target", "/remote_task_dispatcher/0/hashid", native_entry("plug:other")["hashid"],
       "manifest.remote_task_dispatcher[0].hashid", "HASHID_DESCRIPTOR_MISMATCH"},
      {"kind_missing", "/remote_task_dispatcher/0/kind", std::nullopt, "manifest.remote_task_dispatcher[0].kind",
       "required key is missing"},
      {"kind_inproc", "/remote_task_dispatcher/0/kind", "NATIVE_INPROC", "manifest.remote_task_dispatcher[0].kind",
       "must be one of NATIVE_IMPORT, PYTHON_IMPORT"},
      {"kind_serialized", "/inner_l3_worker/0/kind", "PYTHON_SERIALIZED", "manifest.inner_l3_worker[0].kind",
       "must be one of"},
      {"kind_lowercase", "/remote_task_dispatcher/0/kind", "native_import", "manifest.remote_task_dispatcher[0].kind",
       "must be one of"},
      {"chip_in_dispatcher", "/remote_task_dispatcher/0", chip_entry(16), "manifest.remote_task_dispatcher[0].kind",
       "never valid in REMOTE_TASK_DISPATCHER"},
      {"registry_mismatch", "/remote_task_dispatcher/0/target_registry", "INNER_L3_WORKER",
       "manifest.remote_task_dispatcher[0].target_registry", "must be \"REMOTE_TASK_DISPATCHER\""},
      {"payload_version_2", "/inner_l3_worker/0/payload_version", 2, "manifest.inner_l3_worker[0].payload_version",
       "must be <= 1"},
      {"target_missing", "/remote_task_dispatcher/0/target", std::nullopt, "manifest.remote_task_dispatcher[0].target",
       "required key is missing"},
      {"target_empty", "/remote_task_dispatcher/0/target", "", "manifest.remote_task_dispatcher[0].target", "1..1024 bytes"},
      {"target_too_long", "/remote_task_dispatcher/0/target", "p:" + std::string(1023, 'f'),
       "manifest.remote_task_dispatcher[0].target", "1..1024 bytes"},
      {"target_absolute", "/remote_task_dispatcher/0/target", "/abs/x:f", "manifest.remote_task_dispatcher[0].target",
       "not a path"},
      {"target_dotdot", "/remote_task_dispatcher/0/target", "../x:f", "manifest.remote_task_dispatcher[0].target",
       "not a path"},
      {"target_bad_symbol", "/remote_task_dispatcher/0/target", "x:bad-name", "manifest.remote_task_dispatcher[0].target",
       "not a C identifier"},
      {"target_no_colon", "/remote_task_dispatcher/0/target", "libfoo", "manifest.remote_task_dispatcher[0].target",
       "NATIVE_IMPORT target"},
      {"payload_on_import", "/remote_task_dispatcher/0/payload_hex", "00", "manifest.remote_task_dispatcher[0].payload_hex",
       "forbidden for NATIVE_IMPORT"},
      {"target_on_chip", "/inner_l3_worker/1/target", "x:f", "manifest.inner_l3_worker[1].target",
       "forbidden for CHIP_CALLABLE"},
      {"chip_hex_missing", "/inner_l3_worker/1/payload_hex", std::nullopt, "manifest.inner_l3_worker[1].payload_hex",
       "required key is missing"},
      {"chip_hex_uppercase", "/inner_l3_worker/1/payload_hex", "0A", "manifest.inner_l3_worker[1].payload_hex",
       "lowercase hex"},
      {"chip_hex_odd", "/inner_l3_worker/1/payload_hex", "abc", "manifest.inner_l3_worker[1].payload_hex", "lowercase hex"},
      {"chip_payload_garbage", "/inner_l3_worker/1/payload_hex", "0000", "manifest.inner_l3_worker[1].payload_hex",
       "not a RemoteChipCallablePayloadWire"},
      {"chip_hashid_mismatch", "/inner_l3_worker/1/hashid", chip_entry(64, 0x11)["hashid"],
       "manifest.inner_l3_worker[1].payload_hex", "HASHID_DESCRIPTOR_MISMATCH"},
      {"entry_unknown_key", "/inner_l3_worker/0/note", "x", "manifest.inner_l3_worker[0].note", "unknown key"},
      {"duplicate_hashid", "/inner_l3_worker/2", native_entry("plug:sub_entry"), "manifest.inner_l3_worker[2].hashid",
       "duplicate hashid"},
  };
  return rows;
}

TEST(Manifest, ValidBaseParses) { EXPECT_NO_THROW(parse_manifest(dump(valid_manifest_json()))); }

TEST(Manifest, SchemaRejectsEachBadKey) {
  for (const BadKeyRow& row : bad_key_rows()) {
    SCOPED_TRACE(row.name);
    json doc = valid_manifest_json();
    const json::json_pointer ptr(row.json_pointer);
    if (row.value) doc[ptr] = *row.value;
    else doc[ptr.parent_pointer()].erase(ptr.back());
    try {
      parse_manifest(dump(doc), row.policy);
      ADD_FAILURE() << "accepted";
    } catch (const ManifestError& e) {
      EXPECT_EQ(e.path(), row.expected_path) << e.what();
      EXPECT_NE(e.reason().find(row.expected_reason), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(row.expected_path + std::string(": "), 0), 0u) << e.what();
    }
  }
}

TEST(Manifest, UnknownKeyRejected) {
  json doc = valid_manifest_json();
  doc["timeouts"] = json::object({{"health_interval_s", 1}});
  try {
    parse_manifest(dump(doc));
    FAIL() << "accepted";
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.path(), "manifest.timeouts");
    EXPECT_EQ(e.reply_error(), "ManifestError: manifest.timeouts: unknown key");
  }
}

TEST(Manifest, DuplicateKeyRejectedWithPath) {
  const std::string text = R"({"manifest_version":1,"session_id":"5","worker_id":0,"worker_id":1})";
  try {
    parse_manifest(text);
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.path(), "manifest.worker_id");
    EXPECT_EQ(e.reason(), "duplicate key");
  }
  json doc = valid_manifest_json();
  std::string nested = dump(doc);
  const std::string needle = R"("kind":"NATIVE_IMPORT")";
  nested.replace(nested.find(needle), needle.size(), needle + "," + needle);
  try {
    parse_manifest(nested);
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.path(), "manifest.inner_l3_worker[0].kind");
  }
}

TEST(Manifest, NotJsonOrNotObjectOrTooLarge) {
  for (const std::string text : {"", "{", "[1]", "nul", "{\"a\":\"\xff\"}"}) {
    SCOPED_TRACE(text);
    try {
      parse_manifest(text);
      FAIL();
    } catch (const ManifestError& e) {
      EXPECT_EQ(e.path(), "manifest");
    }
  }
  const std::string huge(MAX_BOOTSTRAP_BYTES + 1, ' ');
  try {
    parse_manifest(huge);
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_NE(e.reason().find("at most 16777216"), std::string::npos);
  }
}

TEST(Manifest, DefaultsApplied) {
  json doc = valid_manifest_json();
  doc.erase("remote_task_dispatcher");
  doc.erase("inner_l3_worker");
  const BootstrapManifest m = parse_manifest(dump(doc));
  EXPECT_EQ(m.num_chips, 0u);
  EXPECT_EQ(m.num_sub_workers, 0u);
  EXPECT_EQ(m.heap_ring_bytes, 268435456u);
  EXPECT_EQ(m.health_interval_s, 0.2);
  EXPECT_EQ(m.health_expiry_s, 30.0);
  EXPECT_EQ(m.shutdown_timeout_s, 10.0);
  EXPECT_EQ(m.requested_features, 0u);
  EXPECT_EQ(m.required_features, 0u);
  EXPECT_EQ(m.pipeline_window, 1u);
  EXPECT_TRUE(m.remote_task_dispatcher.empty());
  EXPECT_TRUE(m.inner_l3_worker.empty());
}

TEST(Manifest, LargeIdsParsedExactly) {
  json doc = valid_manifest_json();
  doc["session_id"] = "9223372036854775807";
  doc["worker_id"] = 2147483647;
  doc["requested_features"] = 9007199254740991ULL;
  doc["required_features"] = 9007199254740991ULL;
  doc["pipeline_window"] = 16;
  doc["heap_ring_bytes"] = 1ULL << 40;
  const BootstrapManifest m = parse_manifest(dump(doc));
  EXPECT_EQ(m.session_id, 9223372036854775807ULL);
  EXPECT_EQ(m.worker_id, 2147483647u);
  EXPECT_EQ(m.requested_features, 9007199254740991ULL);
  EXPECT_EQ(m.heap_ring_bytes, 1ULL << 40);
  // 2^53 + 1 is not representable as a double: an exact parser still sees it (and refuses it).
  doc["requested_features"] = 9007199254740993ULL;
  try {
    parse_manifest(dump(doc));
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_NE(e.reason().find("got 9007199254740993"), std::string::npos) << e.what();
  }
}

TEST(Manifest, EntryFormsAccepted) {
  json doc = valid_manifest_json();
  json bare = native_entry("plug:orch_entry");
  bare["hashid"] = bare["hashid"].get<std::string>().substr(7);  // bare 64 digits
  bare["target_registry"] = "REMOTE_TASK_DISPATCHER";
  bare["payload_version"] = 1;
  doc["remote_task_dispatcher"] = json::array({bare});
  const BootstrapManifest m = parse_manifest(dump(doc));
  ASSERT_EQ(m.remote_task_dispatcher.size(), 1u);
  EXPECT_EQ(m.remote_task_dispatcher[0].hashid(), native_entry("plug:orch_entry")["hashid"]);
  ASSERT_EQ(m.inner_l3_worker.size(), 2u);
  EXPECT_EQ(m.inner_l3_worker[1].kind, CallableKind::CHIP_CALLABLE);
  EXPECT_FALSE(m.inner_l3_worker[1].chip_payload.empty());
}

TEST(Manifest, EntryListBounded) {
  json doc = valid_manifest_json();
  json list = json::array();
  for (int i = 0; i < 1025; ++i) list.push_back(native_entry("plug:e" + std::to_string(i)));
  doc["remote_task_dispatcher"] = list;
  try {
    parse_manifest(dump(doc));
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.path(), "manifest.remote_task_dispatcher");
    EXPECT_NE(e.reason().find("at most 1024"), std::string::npos);
  }
  list.erase(list.size() - 1);
  doc["remote_task_dispatcher"] = list;
  EXPECT_EQ(parse_manifest(dump(doc)).remote_task_dispatcher.size(), 1024u);
}

TEST(Manifest, RegistryProblemsAreRegistryErrors) {
  json doc = valid_manifest_json();
  doc["remote_task_dispatcher"][0]["hashid"] = native_entry("plug:other")["hashid"];
  try {
    parse_manifest(dump(doc));
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.type(), ManifestError::Type::REGISTRY);
    EXPECT_EQ(e.reply_error().rfind("RegistryError: manifest.remote_task_dispatcher[0].hashid: ", 0), 0u);
  }
}

TEST(Manifest, UcxProfileRules) {
  json doc = valid_manifest_json();
  doc["transport_profile"] = "ucx";
  const ManifestPolicy ucx{.ucx_available = true};
  try {
    parse_manifest(dump(doc), ucx);
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.path(), "manifest.ucx_parent_command_worker_addr");
  }
  doc["ucx_parent_command_worker_addr"] = "00ff";
  doc["ucx_parent_health_worker_addr"] = "00FF";
  try {
    parse_manifest(dump(doc), ucx);
    FAIL();
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.path(), "manifest.ucx_parent_health_worker_addr");
  }
  doc["ucx_parent_health_worker_addr"] = std::string(4098, 'a');
  EXPECT_THROW(parse_manifest(dump(doc), ucx), ManifestError);
  doc["ucx_parent_health_worker_addr"] = std::string(4096, 'a');
  EXPECT_EQ(parse_manifest(dump(doc), ucx).ucx_parent_health_worker_addr.size(), 4096u);
}

TEST(Manifest, RoundTrip) {
  json doc = valid_manifest_json();
  doc["num_chips"] = 2;
  doc["num_sub_workers"] = 64;
  doc["heap_ring_bytes"] = 1 << 20;
  doc["startup_budget_s"] = 12.345678901234567;
  doc["health_interval_s"] = 0.1;
  doc["health_expiry_s"] = 1;
  doc["shutdown_timeout_s"] = 86400;
  doc["requested_features"] = 3;
  doc["required_features"] = 1;
  doc["pipeline_window"] = 4;
  const BootstrapManifest m = parse_manifest(dump(doc));
  const std::string canonical = to_json(m);
  EXPECT_EQ(parse_manifest(canonical), m);
  EXPECT_EQ(to_json(parse_manifest(canonical)), canonical);

  BootstrapManifest u = m;
  u.transport_profile = TransportProfile::UCX;
  u.ucx_parent_command_worker_addr = "0a0b";
  u.ucx_parent_health_worker_addr = "0c0d";
  EXPECT_EQ(parse_manifest(to_json(u), {.ucx_available = true}), u);
}

TEST(Manifest, ToJsonRefusesWhatParseRefuses) {
  BootstrapManifest m = parse_manifest(dump(valid_manifest_json()));
  m.health_expiry_s = 2 * m.health_interval_s - 0.01;
  EXPECT_THROW(to_json(m), ManifestError);
  m = parse_manifest(dump(valid_manifest_json()));
  m.session_id = 0;
  EXPECT_THROW(to_json(m), ManifestError);
  m = parse_manifest(dump(valid_manifest_json()));
  m.startup_budget_s = std::numeric_limits<double>::infinity();
  EXPECT_THROW(to_json(m), ManifestError);
}

}  // namespace
}  // namespace echelon::remote
