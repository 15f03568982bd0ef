#!/usr/bin/env bash
# The flakiness gate: runs the test suite RUNS times per target (default 5)
# in Bazel's fastbuild and in -c opt, so that a test that only passes
# because one build is slow (or fast) fails here. Not part of ./test.sh (it
# takes about an hour on 2 cores); run it before changing anything that
# involves threads, processes, timeouts or servers, and before resolving an
# issue that touches tests.
#
# Usage: tests/stress.sh [RUNS] [TARGET ...]   (targets default to //...)
# Ends with one line "stress: N passed, M failed" counting target x mode.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(//...)
case "$runs" in ''|*[!0-9]*) echo "usage: tests/stress.sh [RUNS] [TARGET ...]" >&2; exit 2 ;; esac

scratch=$(mktemp -d /tmp/tlsession-stress.XXXXXX) || exit 1
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
for mode in fastbuild opt; do
  echo "== stress: -c $mode --runs_per_test=$runs ${targets[*]}"
  bazel test -c "$mode" --runs_per_test="$runs" --nocache_test_results \
    "${targets[@]}" 2>&1 | tee "$scratch/$mode.log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^//[^ ]+ +PASSED' "$scratch/$mode.log" || true)
  f=$(grep -cE '^//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD|INCOMPLETE|FLAKY)' "$scratch/$mode.log" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  echo "== stress -c $mode: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "stress: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
