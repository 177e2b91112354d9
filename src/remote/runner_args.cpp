#include "remote/runner_args.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <string_view>

#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon::remote {
namespace {

[[noreturn]] void bad(std::string_view flag, const std::string& why) {
  throw ValidationError(fmt::format("runner argument {}: {}", flag, why));
}

template <class T>
T parse_number(std::string_view flag, std::string_view text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    bad(flag, fmt::format("'{}' is not a plain decimal number", text));
  return v;
}

}  // namespace

uint64_t to_monotonic_ns(transport::Deadline d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d.time_since_epoch()).count());
}

transport::Deadline from_monotonic_ns(uint64_t ns) {
  return transport::Deadline(std::chrono::duration_cast<transport::Clock::duration>(std::chrono::nanoseconds(ns)));
}

std::vector<std::string> runner_arguments(const RunnerArgs& a) {
  std::vector<std::string> out = {
      fmt::format("--handoff-fd={}", a.handoff_fd),
      fmt::format("--status-fd={}", a.status_fd),
      fmt::format("--bind-ip={}", a.bind_ip),
      fmt::format("--deadline-monotonic-ns={}", to_monotonic_ns(a.deadline)),
      // Shortest text that parses back to the same double.
      fmt::format("--proof-timeout-s={}", a.proof_timeout_s),
  };
  for (const std::string& dir : a.plugin_dirs) out.push_back(fmt::format("--plugin-dir={}", dir));
  return out;
}

RunnerArgs parse_runner_args(int argc, const char* const* argv) {
  RunnerArgs a;
  bool seen[5] = {};
  constexpr std::string_view names[5] = {"--handoff-fd", "--status-fd", "--bind-ip", "--deadline-monotonic-ns",
                                         "--proof-timeout-s"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    if (!arg.starts_with("--") || eq == std::string_view::npos) bad(arg, "expected --name=value");
    const std::string_view name = arg.substr(0, eq), value = arg.substr(eq + 1);
    if (name == "--plugin-dir") {
      if (value.empty() || value[0] != '/') bad(name, fmt::format("'{}' is not an absolute path", value));
      a.plugin_dirs.emplace_back(value);
      continue;
    }
    size_t k = 0;
    while (k < 5 && names[k] != name) ++k;
    if (k == 5) bad(name, "unknown flag");
    if (seen[k]) bad(name, "given twice");
    seen[k] = true;
    switch (k) {
      case 0: a.handoff_fd = parse_number<int>(name, value); break;
      case 1: a.status_fd = parse_number<int>(name, value); break;
      case 2: {
        in_addr addr{};
        if (inet_pton(AF_INET, std::string(value).c_str(), &addr) != 1) bad(name, fmt::format("'{}' is not a numeric IPv4 address", value));
        a.bind_ip = std::string(value);
        break;
      }
      case 3: a.deadline = from_monotonic_ns(parse_number<uint64_t>(name, value)); break;
      case 4:
        a.proof_timeout_s = parse_number<double>(name, value);
        if (!std::isfinite(a.proof_timeout_s) || !(a.proof_timeout_s > 0) || a.proof_timeout_s > 60)
          bad(name, fmt::format("'{}' is not in (0, 60]", value));
        break;
    }
  }
  for (size_t k = 0; k < 5; ++k)
    if (!seen[k]) bad(names[k], "is required");
  if (a.handoff_fd < 0 || a.status_fd < 0 || a.handoff_fd == a.status_fd) bad("--status-fd", "must differ from --handoff-fd");
  return a;
}

}  // namespace echelon::remote
