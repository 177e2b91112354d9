#!/usr/bin/env bash
# Builds echelon and runs every test: the main suite, sanitizer runs and the fuzz smoke run.
# ECHELON_LONG_FUZZ=1 turns the fuzz smoke run into a long one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=2
echo "== build (RelWithDebInfo) and run all tests"
scripts/build.sh build
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 600

echo "== the end-to-end demo on the ucx profile (the main job runs it on host_tcp)"
./build/bin/echelon-demo --transport ucx

echo "== ThreadSanitizer: runtime (scheduler/orchestrator) tests"
scripts/build.sh build-tsan -DECHELON_SANITIZE=thread -DECHELON_BUILD_BENCH=OFF -- runtime_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build-tsan -j "$jobs" --output-on-failure -L runtime --timeout 900

echo "== AddressSanitizer + UBSan: every suite but the runtime one (TSan covers it), ucx included"
scripts/build.sh build-asan -DECHELON_SANITIZE=address -DECHELON_BUILD_BENCH=OFF -- \
  core_tests wire_tests chip_tests process_local_tests transport_tests remote_tests session_tests remote_e2e_tests \
  transport_ucx_tests
ctest --test-dir build-asan -j "$jobs" --output-on-failure \
  -L 'core|wire|chip|process|transport|remote|session|remote_e2e|ucx' --timeout 900

if [[ -x scripts/fuzz-smoke.sh ]]; then
  echo "== fuzz smoke run"
  scripts/fuzz-smoke.sh
fi

echo "== benchmarks (--quick)"
./build/bin/echelon-bench all --quick
