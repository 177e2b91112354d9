#include "remote/runner_args.h"

#include <gtest/gtest.h>

#include "echelon/errors.h"

namespace echelon::remote {
namespace {

std::vector<const char*> argv_of(const std::vector<std::string>& args) {
  std::vector<const char*> v{"echelon-l3-session"};
  for (const auto& a : args) v.push_back(a.c_str());
  return v;
}

TEST(RunnerArgs, RoundTrip) {
  RunnerArgs a;
  a.bind_ip = "10.1.2.3";
  a.deadline = transport::Clock::now() + std::chrono::seconds(30);
  a.proof_timeout_s = 0.1;
  a.plugin_dirs = {"/opt/a", "/opt/b"};
  const auto args = runner_arguments(a);
  EXPECT_EQ(args[0], "--handoff-fd=3");
  EXPECT_EQ(args[1], "--status-fd=4");
  const auto v = argv_of(args);
  const RunnerArgs back = parse_runner_args(static_cast<int>(v.size()), v.data());
  EXPECT_EQ(to_monotonic_ns(back.deadline), to_monotonic_ns(a.deadline));
  EXPECT_EQ(back, a);
}

TEST(RunnerArgs, Rejections) {
  const std::vector<std::string> good = {"--handoff-fd=3", "--status-fd=4", "--bind-ip=127.0.0.1",
                                         "--deadline-monotonic-ns=1", "--proof-timeout-s=5"};
  struct Row {
    std::vector<std::string> args;
    const char* needle;
  };
  std::vector<Row> rows = {
      {{"--handoff-fd=3"}, "--status-fd: is required"},
      {{good[0], good[1], good[2], good[3], "--proof-timeout-s=0"}, "not in (0, 60]"},
      {{good[0], good[1], "--bind-ip=host", good[3], good[4]}, "numeric IPv4"},
      {{good[0], good[1], good[2], "--deadline-monotonic-ns=-1", good[4]}, "plain decimal"},
      {{good[0], good[0], good[1], good[2], good[3], good[4]}, "given twice"},
      {{good[0], good[1], good[2], good[3], good[4], "--plugin-dir=rel"}, "absolute"},
      {{good[0], good[1], good[2], good[3], good[4], "--secret=x"}, "unknown flag"},
      {{good[0], good[1], good[2], good[3], good[4], "--bind-ip", "1.2.3.4"}, "--name=value"},
      {{"--handoff-fd=4", good[1], good[2], good[3], good[4]}, "must differ"},
  };
  for (const Row& row : rows) {
    const auto v = argv_of(row.args);
    try {
      parse_runner_args(static_cast<int>(v.size()), v.data());
      ADD_FAILURE() << row.needle;
    } catch (const ValidationError& e) {
      EXPECT_NE(std::string(e.what()).find(row.needle), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace echelon::remote
