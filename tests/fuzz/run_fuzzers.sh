#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (--config=fuzz, in an
# output base of their own so that the main g++ build stays warm) and runs
# each for SECONDS (default 30) on a temporary copy of its seed corpus
# tests/fuzz/corpus/NAME/. This bounded run is a stage of test.sh; the longer
# run is:
#
#   tests/fuzz/run_fuzzers.sh 600
#
# Prints per fuzzer one line "fuzzer NAME: PASSED|FAILED, N execs, M exec/s"
# (from libFuzzer's final stats), then "fuzz: P passed, F failed". Exits
# non-zero when a fuzzer crashed (or leaked, or broke an invariant) or did not
# build. A failing fuzzer's log and crashing input are kept and named; add
# the input to its corpus once the bug is fixed.
#
# Environment: FUZZ_JOBS fuzzers run at a time (default 2, one per core here).
set -uo pipefail
cd "$(dirname "$0")/../.."
export HOME="${HOME:-/root}"

seconds=${1:-30}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
jobs=${FUZZ_JOBS:-2}

# One output base per checkout (as Bazel's own default is), so that
# checkouts fuzzing at the same time do not take over each other's server.
checkout_id=$(pwd -P | md5sum | cut -c1-12)
bazel_fuzz=(bazel "--output_base=$HOME/.cache/tlsession-fuzz-output-$checkout_id")
# Every tests/fuzz/NAME_fuzzer.cc is a fuzzer (its target lists it in
# //tests/fuzz:all).
fuzzers=()
for src in tests/fuzz/*_fuzzer.cc; do
  fuzzers+=("$(basename "$src" .cc)")
done

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tlsession-fuzz.XXXXXX")
passed=0
failed=0

echo "== fuzz: building ${#fuzzers[@]} fuzzers (clang, --config=fuzz)"
if ! "${bazel_fuzz[@]}" build --config=fuzz //tests/fuzz:all \
    >"$run_dir/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$run_dir/build.log" | tail -30
  for name in "${fuzzers[@]}"; do
    echo "fuzzer $name: FAILED, 0 execs, 0 exec/s"
    echo "  did not build: see $run_dir/build.log"
  done
  echo "fuzz: 0 passed, ${#fuzzers[@]} failed"
  exit 1
fi
bin=$("${bazel_fuzz[@]}" info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz

# Runs one fuzzer; writes NAME.log, NAME.rc and any NAME-crash-* artifact.
run_one() {
  local name=$1
  local corpus="$run_dir/$name.corpus"
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
  (
    cd "$run_dir" &&
      UBSAN_OPTIONS=print_stacktrace=1 \
        timeout $((seconds + 120)) "$bin/$name" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
        -rss_limit_mb=2048 -artifact_prefix="$run_dir/$name-" "$corpus" \
        >"$run_dir/$name.log" 2>&1
  )
  echo $? >"$run_dir/$name.rc"
  rm -rf "$corpus"
}

echo "== fuzz: ${seconds}s each, $jobs at a time"
running=0
for name in "${fuzzers[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_one "$name" &
  running=$((running + 1))
done
wait

for name in "${fuzzers[@]}"; do
  log="$run_dir/$name.log"
  rc=$(cat "$run_dir/$name.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' \
    "$log" 2>/dev/null | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' \
    "$log" 2>/dev/null | tail -1)
  artifacts=$(ls "$run_dir/$name"-* 2>/dev/null)
  if [ "$rc" -eq 0 ] && [ -n "$execs" ] && [ -z "$artifacts" ]; then
    echo "fuzzer $name: PASSED, ${execs} execs, ${rate:-0} exec/s"
    passed=$((passed + 1))
  else
    echo "fuzzer $name: FAILED, ${execs:-0} execs, ${rate:-0} exec/s"
    echo "  exit status $rc; log: $log"
    grep -E "ERROR: |SUMMARY: |runtime error|Test unit written" "$log" \
      2>/dev/null | head -5 | sed 's/^/  /'
    for a in $artifacts; do echo "  input: $a"; done
    failed=$((failed + 1))
  fi
done

echo "fuzz: $passed passed, $failed failed"
if [ "$failed" -eq 0 ]; then
  rm -rf "$run_dir"
else
  echo "fuzz: logs and inputs kept in $run_dir"
fi
[ "$failed" -eq 0 ]
