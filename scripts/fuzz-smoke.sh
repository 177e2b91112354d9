#!/usr/bin/env bash
# Fuzz smoke run of the wire codec: builds one libFuzzer target per decoder entry point (fuzz/),
# seeds each from the golden vectors, and runs them for about a minute in total.
#   ECHELON_LONG_FUZZ=1          run each target for 10 minutes instead
#   ECHELON_FUZZ_TOTAL_SECONDS=N override the total budget of the short run (default 60)
# Exits 0 with a "skipped" line when clang++ with libFuzzer is unavailable.
set -euo pipefail
cd "$(dirname "$0")/.."

CXX_FUZZ="${ECHELON_FUZZ_CXX:-clang++}"
if ! command -v "$CXX_FUZZ" >/dev/null 2>&1; then
  echo "fuzz-smoke: skipped (no $CXX_FUZZ on PATH)"
  exit 0
fi
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe_dir/p.cpp"
if ! "$CXX_FUZZ" -fsanitize=fuzzer,address,undefined "$probe_dir/p.cpp" -o "$probe_dir/p" >/dev/null 2>&1; then
  echo "fuzz-smoke: skipped ($CXX_FUZZ cannot link -fsanitize=fuzzer; install libclang-rt-dev)"
  exit 0
fi

build_dir="${ECHELON_FUZZ_BUILD_DIR:-build-fuzz}"
cmake -S fuzz -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$CXX_FUZZ" >/dev/null
ninja -C "$build_dir" >/dev/null

IFS=';' read -r -a entries <<<"$(cat "$build_dir/fuzz_entries.txt")"
work="$(mktemp -d)"
trap 'rm -rf "$probe_dir" "$work"' EXIT
"$build_dir/make_seeds" tests/wire/golden "$work/corpus" >/dev/null

if [[ "${ECHELON_LONG_FUZZ:-0}" == "1" ]]; then
  per_target=600
else
  total="${ECHELON_FUZZ_TOTAL_SECONDS:-60}"
  per_target=$(( total / ${#entries[@]} ))
  (( per_target >= 1 )) || per_target=1
fi
echo "fuzz-smoke: ${#entries[@]} targets, ${per_target}s each"

failed=()
for entry in "${entries[@]}"; do
  corpus="$work/corpus/$entry"
  mkdir -p "$corpus" "$work/artifacts/$entry"
  log="$work/$entry.log"
  # -rss_limit_mb bounds memory: the codec must never allocate from an unchecked length.
  if "$build_dir/fuzz_$entry" "$corpus" -max_total_time="$per_target" -rss_limit_mb=1024 -max_len=65536 \
      -timeout=10 -artifact_prefix="$work/artifacts/$entry/" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
    echo "  $entry: ok ($runs runs)"
  else
    echo "  $entry: FAILED"
    tail -n 40 "$log" | sed 's/^/    /'
    mkdir -p fuzz-findings
    cp -r "$work/artifacts/$entry" "fuzz-findings/" 2>/dev/null || true
    failed+=("$entry")
  fi
done

if (( ${#failed[@]} )); then
  echo "fuzz-smoke: ${#failed[@]} target(s) crashed: ${failed[*]} (inputs saved under fuzz-findings/)"
  exit 1
fi
echo "fuzz-smoke: zero crashes"
