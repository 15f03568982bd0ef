#!/usr/bin/env bash
# Runs every test: installs what is missing, checks that the CMake and Bazel
# builds list the same sources (seconds: drift fails first), builds, then
# 'bazel test //...' plain, under ASan/UBSan/LSan and under TSan, then the
# libFuzzer targets (clang) for 30 s each, then the CMake build (ctest,
# install) and the examples built against it.
# Ends with one line "N passed, M failed" (", K skipped" when a stage could
# not run because a stage it needs failed: that failure is counted once, by
# the stage that failed) counting test targets, and exits non-zero when any
# test failed or did not build.
set -uo pipefail
cd "$(dirname "$0")"
export HOME="${HOME:-/root}"
./setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
skipped=0
# Everything this script writes goes into its own scratch folder, and that
# folder is the only thing it removes.
scratch=$(mktemp -d /tmp/tlsession-test.XXXXXX) ||
  { echo "mktemp failed"; echo "0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$scratch"' EXIT
log="$scratch/stage.log"

# One 'bazel test' run; its per-target result lines are counted.
stage() {
  local name=$1; shift
  echo "== $name: bazel test $*"
  local start=$SECONDS
  # Tests talk to system binaries (vsftpd, ProFTPD, openssl, curl) that
  # Bazel cannot see: never take a result from the cache.
  bazel test --nocache_test_results "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
  f=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD|INCOMPLETE|FLAKY)' "$log" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1  # The build itself failed before any test ran.
  fi
  echo "== $name: $p passed, $f failed ($((SECONDS - start)) s)"
  passed=$((passed + p))
  failed=$((failed + f))
}

# A script's stage: it prints one "<name>: PASSED" or "<name>: FAILED" line
# per check (pattern: the check names' regex); each counts as one target.
script_stage() {
  local name=$1 pattern=$2; shift 2
  echo "== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -cE "^($pattern): PASSED\$" "$log" || true)
  f=$(grep -cE "^($pattern): FAILED\$" "$log" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  echo "== $name: $p passed, $f failed ($((SECONDS - start)) s)"
  passed=$((passed + p))
  failed=$((failed + f))
}

# Both builds list the same sources and deps for every rule: seconds, so
# drift fails before half an hour of builds.
script_stage build_consistency 'build_consistency [^ ]+' \
  tests/build_consistency/compare_sources.sh
# The tree is formatted as buildifier and clang-format write it (seconds).
script_stage format 'format [^ ]+' tests/build_consistency/format_check.sh

stage tests //...
# The whole suite again under AddressSanitizer + UBSan + LeakSanitizer, and
# under ThreadSanitizer (the session cache's stress test among them).
stage asan --config=asan //...
stage tsan --config=tsan //...

# libFuzzer targets built with clang, 30 s each (tests/fuzz/run_fuzzers.sh):
# each fuzzer counts as one target.
echo "== fuzz: tests/fuzz/run_fuzzers.sh"
fuzz_start=$SECONDS
tests/fuzz/run_fuzzers.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
p=$(grep -cE '^fuzzer [^ ]+: PASSED' "$log" || true)
f=$(grep -cE '^fuzzer [^ ]+: FAILED' "$log" || true)
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
echo "== fuzz: $p passed, $f failed ($((SECONDS - fuzz_start)) s)"
passed=$((passed + p))
failed=$((failed + f))

# The CMake build (Ninja, in the scratch folder): build, ctest, install, and
# programs built against the install with find_package and pkg-config.
mkdir "$scratch/cmake"
script_stage cmake 'cmake' env TLSESSION_CMAKE_WORK="$scratch/cmake" \
  tests/build_consistency/cmake_build.sh
prefix="$scratch/cmake/prefix"
# The examples built from outside the tree the three ways a project would,
# each run against `openssl s_server -www`: an external Bazel workspace,
# CMake find_package against the install above, and pkg-config.
script_stage consumer_bazel 'consumer bazel' examples/build_as_consumer.sh bazel
for way in cmake pkgconfig; do
  if [ -f "$prefix/lib/pkgconfig/tlsession.pc" ]; then
    script_stage "consumer_$way" "consumer $way" \
      examples/build_as_consumer.sh "$way" "$prefix"
  else
    echo "== consumer_$way: SKIPPED: no CMake install in $prefix (the cmake stage failed before installing)"
    skipped=$((skipped + 1))
  fi
done

echo "== all stages: ${SECONDS} s (setup.sh included)"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
