#include "remote/bootstrap_reply.h"

#include <gtest/gtest.h>

#include "remote_test_support.h"

namespace echelon::remote {
namespace {

template <class Fn>
std::string schema_path(Fn&& fn) {
  try {
    fn();
  } catch (const SchemaError& e) {
    return e.path();
  }
  return "<accepted>";
}

TEST(Reply, SuccessRoundTripsWithEchoKeys) {
  const BootstrapManifest m = parse_manifest(test::valid_manifest_json().dump());
  const RunnerStatus status{LaneAddresses{TransportProfile::HOST_TCP, 4001, 4002, {}, {}}};
  EXPECT_EQ(parse_runner_status(to_json(status)), status);
  const BootstrapReply reply = make_reply(status, m);
  const std::string text = to_json(reply);
  EXPECT_NE(text.find(R"("session_id":"4611686018427387905")"), std::string::npos) << text;
  const BootstrapReply back = parse_reply(text);
  EXPECT_EQ(back, reply);
  EXPECT_NO_THROW(check_reply_matches(back, m));
  BootstrapReply wrong = back;
  wrong.worker_id = 8;
  EXPECT_EQ(schema_path([&] { check_reply_matches(wrong, m); }), "reply.worker_id");
}

TEST(Reply, UcxSuccessRoundTrips) {
  const BootstrapReply r{LaneAddresses{TransportProfile::UCX, 0, 0, "0a", "0b"}, 9, 1};
  EXPECT_EQ(parse_reply(to_json(r)), r);
}

TEST(Reply, FailureCarriesTypedError) {
  const BootstrapReply r = failure_reply(make_reply_error(ReplyErrorType::ManifestError, "manifest.num_chips: bad"));
  EXPECT_EQ(to_json(r), R"({"error":"ManifestError: manifest.num_chips: bad","ok":false})");
  EXPECT_EQ(parse_reply(to_json(r)), r);
  EXPECT_EQ(to_json(failure_reply(auth_failure())), R"({"error":"AuthError: authentication failed","ok":false})");
  // Long messages are cut to 4096 bytes at a UTF-8 boundary.
  std::string long_text(4095, 'x');
  long_text += "\xc3\xa9";
  const ReplyError cut = make_reply_error(ReplyErrorType::StartupError, long_text);
  EXPECT_EQ(cut.message.size(), 4095u);
  EXPECT_NO_THROW(parse_reply(to_json(failure_reply(cut))));
}

TEST(Reply, SchemaRejections) {
  struct Row {
    const char* text;
    const char* path;
  };
  const Row rows[] = {
      {R"({"ok":true,"command_port":1,"health_port":2,"worker_id":1})", "reply.session_id"},
      {R"({"ok":true,"command_port":1,"health_port":2,"session_id":"1","worker_id":1,"x":1})", "reply.x"},
      {R"({"ok":true,"command_port":0,"health_port":2,"session_id":"1","worker_id":1})", "reply.command_port"},
      {R"({"ok":true,"command_port":1,"health_port":65536,"session_id":"1","worker_id":1})", "reply.health_port"},
      {R"({"ok":true,"session_id":"1","worker_id":1})", "reply.command_port"},
      {R"({"ok":true,"command_port":1,"health_port":2,"ucx_command_worker_addr":"aa","session_id":"1","worker_id":1})",
       "reply.ucx_command_worker_addr"},
      {R"({"ok":"yes","error":"DaemonError: x"})", "reply.ok"},
      {R"({"ok":false})", "reply.error"},
      {R"({"ok":false,"error":"Oops: x"})", "reply.error"},
      {R"({"ok":false,"error":"no type"})", "reply.error"},
      {R"({"ok":false,"error":"AuthError: wrong secret"})", "reply.error"},
      {R"({"ok":false,"error":"BusyError: x","session_id":"1"})", "reply.session_id"},
      {R"({"ok":false,"error":"BusyError: x","ok":false})", "reply.ok"},
      {R"([1])", "reply"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.text);
    EXPECT_EQ(schema_path([&] { parse_reply(row.text); }), row.path);
  }
  const std::string too_long = R"({"ok":false,"error":"StartupError: )" + std::string(4097, 'x') + "\"}";
  EXPECT_EQ(schema_path([&] { parse_reply(too_long); }), "reply.error");
  EXPECT_EQ(schema_path([&] { parse_runner_status(R"({"ok":true,"command_port":1,"health_port":2,"worker_id":1})"); }),
            "status.worker_id");
}

}  // namespace
}  // namespace echelon::remote
