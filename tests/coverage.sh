#!/usr/bin/env bash
# Line coverage of the library (base/, session/, tls/, ftp_adapter/, fleet/)
# under the whole Bazel test suite: builds with gcc's --coverage
# (--config=gcov in .bazelrc) in an output base of its own and without the
# disk cache (a cached object would count into another checkout's files),
# runs every test, collects the counters with lcov and writes
# OUT_DIR/coverage.info (lcov's tracefile format, paths relative to the
# checkout) and OUT_DIR/summary.txt. Works on a copy of the tracked files
# in a scratch folder, with an output base there, both removed at the end. Prints one line per folder and the
# total, e.g. "coverage session/: 93.1% (1520 of 1633 lines)".
#
# Usage: tests/coverage.sh OUT_DIR
# Not a stage of test.sh (a third full build); about 10 minutes on 2 cores.
set -uo pipefail
out=${1:?usage: tests/coverage.sh OUT_DIR}
cd "$(dirname "$0")/.."
tree=$(pwd -P)
command -v lcov >/dev/null || { echo "coverage: lcov is missing (./setup.sh installs it)" >&2; exit 1; }
mkdir -p "$out" && out=$(cd "$out" && pwd -P) || exit 1
export HOME="${HOME:-/root}"
scratch=$(mktemp -d /tmp/tlsession-coverage.XXXXXX) || exit 1
trap 'bazel --output_base="$scratch/output" shutdown >/dev/null 2>&1; rm -rf "$scratch"' EXIT
# The tracked files, as they are in the working tree, in a folder of the
# script's own: the checkout's bazel-* symlinks (another output base's
# execroot) must not be read as packages.
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$(mkdir "$scratch/tree" && echo "$scratch/tree")" ||
  exit 1
cd "$scratch/tree" || exit 1
bz=(bazel "--output_base=$scratch/output")

execroot=$("${bz[@]}" info --config=gcov execution_root 2>/dev/null) || exit 1
bin="$execroot/bazel-out/k8-fastbuild/bin"
"${bz[@]}" test --config=gcov --nocache_test_results //... 2>&1 | tail -45
echo "coverage: tests done (a failed test above still counts its lines)"

# Each test ran in its own runfiles folder, where its counters went (object
# paths are relative): merge them all (gcc's gcov-tool), add the objects'
# .gcno files beside the sum, and read it once.
merged="$scratch/merged"
for dir in "$bin"/*.runfiles/tlsession/bazel-out/k8-fastbuild/bin \
  "$bin"/*/*.runfiles/tlsession/bazel-out/k8-fastbuild/bin \
  "$bin"/*/*/*.runfiles/tlsession/bazel-out/k8-fastbuild/bin; do
  [ -d "$dir" ] || continue
  if [ -d "$merged" ]; then
    gcov-tool merge "$merged" "$dir" -o "$scratch/next" >/dev/null 2>&1 &&
      rm -rf "$merged" && mv "$scratch/next" "$merged"
  else
    cp -r "$dir" "$merged"
  fi
done
[ -d "$merged" ] || { echo "coverage: no counters were written" >&2; exit 1; }
(cd "$merged" && find . -name '*.gcda') | while read -r gcda; do
  cp "$bin/${gcda%.gcda}.gcno" "$merged/${gcda%.gcda}.gcno" 2>/dev/null
done
lcov --quiet --capture --directory "$merged" --base-directory "$execroot" \
  --output-file "$scratch/all.info" 2>"$scratch/lcov.log" ||
  { tail -20 "$scratch/lcov.log" >&2; exit 1; }
# Only the library's own sources, named relative to the checkout.
dirs=(base session tls ftp_adapter fleet)
patterns=()
for d in "${dirs[@]}"; do patterns+=("$execroot/$d/*" "$scratch/tree/$d/*"); done
lcov --quiet --extract "$scratch/all.info" "${patterns[@]}" \
  --output-file "$scratch/lib.info" 2>>"$scratch/lcov.log" || exit 1
sed -e "s|^SF:$execroot/|SF:|" -e "s|^SF:$scratch/tree/|SF:|" "$scratch/lib.info" \
  >"$out/coverage.info"

# Per folder: lines found (LF) and hit (LH), summed over its files.
awk -F: '
  /^SF:/ { split($2, p, "/"); dir = p[1] "/" }
  /^LF:/ { found[dir] += $2; total_found += $2 }
  /^LH:/ { hit[dir] += $2; total_hit += $2 }
  END {
    for (d in found)
      printf "coverage %s: %.1f%% (%d of %d lines)\n", d, 100 * hit[d] / found[d], hit[d], found[d]
    printf "coverage total: %.1f%% (%d of %d lines)\n", 100 * total_hit / total_found, total_hit, total_found
  }' "$out/coverage.info" | sort | tee "$out/summary.txt"
