// echelon-bench SUITE [--quick]: prints one `name=value` line per figure.
#include <algorithm>

#include "CLI/CLI.hpp"
#include "bench_suite.h"

namespace echelon::bench {
std::vector<SuiteEntry>& suites() {
  static std::vector<SuiteEntry> all;
  return all;
}
}  // namespace echelon::bench

int main(int argc, char** argv) {
  using namespace echelon::bench;
  auto& all = suites();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string names;
  for (const auto& s : all) names += "\n  " + s.name + ": " + s.summary;

  CLI::App app{"echelon-bench: performance figures as name=value lines.\nSuites:" + names};
  std::string suite;
  BenchOptions opts;
  app.add_option("suite", suite, "suite to run, or 'all'")->required();
  app.add_flag("--quick", opts.quick, "short run for CI");
  CLI11_PARSE(app, argc, argv);

  Report report;
  bool found = false;
  for (const auto& s : all) {
    if (suite == "all" || s.name == suite) {
      found = true;
      s.run(opts, report);
    }
  }
  if (!found) {
    std::fprintf(stderr, "echelon-bench: unknown suite '%s'; known:%s\n", suite.c_str(), names.c_str());
    return 2;
  }
  return 0;
}
