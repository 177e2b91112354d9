// Suites of `echelon-bench`: each prints one `name=value` line per figure and measures the raw
// baseline it compares against in the same run.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace echelon::bench {

struct BenchOptions {
  bool quick = false;  // CI mode: finish in a few seconds
};

class Report {
 public:
  void figure(const std::string& name, double value) {
    std::printf("%s=%.4g\n", name.c_str(), value);
    std::fflush(stdout);
  }
};

using SuiteFn = std::function<void(const BenchOptions&, Report&)>;

struct SuiteEntry {
  std::string name;
  std::string summary;
  SuiteFn run;
};

std::vector<SuiteEntry>& suites();

struct SuiteRegistrar {
  SuiteRegistrar(std::string name, std::string summary, SuiteFn fn) {
    suites().push_back({std::move(name), std::move(summary), std::move(fn)});
  }
};

}  // namespace echelon::bench

#define ECHELON_BENCH_SUITE(ident, name, summary, fn) \
  static ::echelon::bench::SuiteRegistrar ident##_registrar(name, summary, fn)
