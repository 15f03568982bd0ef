#!/usr/bin/env bash
# The tree is formatted as its tools write it: every BUILD, .bzl and
# WORKSPACE file as buildifier does (pinned by setup.sh), every C++ file as
# clang-format does with the root .clang-format. Seconds; a stage of
# test.sh right after the source-list comparison.
#
# Usage: tests/build_consistency/format_check.sh [--fix]
# Prints "format buildifier: PASSED|FAILED" and "format clang-format:
# PASSED|FAILED", naming the files that differ. --fix rewrites them.
set -uo pipefail
cd "$(dirname "$0")/../.."
fix=no
[ "${1:-}" = "--fix" ] && fix=yes
buildifier=${BUILDIFIER:-/opt/tlsession/npm/node_modules/.bin/buildifier}
status=0

mapfile -t build_files < <(git ls-files 'BUILD' '*/BUILD' '*.bzl' 'WORKSPACE' \
  'third_party/*.BUILD')
if [ ! -x "$buildifier" ]; then
  echo "format: no buildifier at $buildifier (./setup.sh installs it)"
  echo "format buildifier: FAILED"
  status=1
elif [ "$fix" = yes ]; then
  "$buildifier" -lint=off "${build_files[@]}"
else
  bad=$("$buildifier" -mode=check -lint=off "${build_files[@]}" 2>&1)
  if [ -n "$bad" ]; then
    echo "$bad" | sed 's/^/  /'
    echo "  (tests/build_consistency/format_check.sh --fix rewrites them)"
    echo "format buildifier: FAILED"
    status=1
  else
    echo "format buildifier: PASSED"
  fi
fi

mapfile -t cc_files < <(git ls-files '*.cc' '*.h' | grep -v '^third_party/')
if [ "$fix" = yes ]; then
  clang-format -i --style=file "${cc_files[@]}"
  exit 0
fi
bad=()
for f in "${cc_files[@]}"; do
  clang-format --style=file "$f" | cmp -s - "$f" || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf '  %s\n' "${bad[@]}"
  echo "  (tests/build_consistency/format_check.sh --fix rewrites them)"
  echo "format clang-format: FAILED"
  status=1
else
  echo "format clang-format: PASSED"
fi
exit $status
