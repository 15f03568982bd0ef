#!/usr/bin/env bash
# Runs the benchmark suites (optimized build) and writes JSON results, Markdown
# tables and SVG plots into a results folder (default: benchmarks/results):
# BoringSSL's primitives beside OpenSSL 3's `openssl speed`, handshakes, FTPS, a fleet on Redis.
# The primitive and handshake suites also measure, in the same run, the same
# BoringSSL source built with -DOPENSSL_SMALL (--config=boringssl_small), as
# Debian ships it.
#
#   benchmarks/run.sh [RESULTS_DIR]
#
# Numbers are ratios within one run: the machines are shared and noisy, so
# each cell is repeated many times in short, randomly interleaved slices
# (slow periods then hit library and raw cells alike) and reported as a
# median with its interquartile spread.
set -euo pipefail
cd "$(dirname "$0")/.."
./setup.sh
out=${1:-benchmarks/results}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# The OPENSSL_SMALL build first (its outputs have a folder of their own),
# then the default build, which bazel-bin then names.
bazel build -c opt --config=boringssl_small \
  //benchmarks:handshake_bench //benchmarks:primitive_bench
small=$(bazel info -c opt --config=boringssl_small bazel-bin 2>/dev/null)/benchmarks
bazel build -c opt //benchmarks:handshake_bench //benchmarks:ftps_bench \
  //benchmarks:primitive_bench //benchmarks:fleet_bench
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
if [ "$small" = "$bin/benchmarks" ]; then
  echo "run.sh: the OPENSSL_SMALL build has no output folder of its own" >&2
  exit 1
fi

"$bin/benchmarks/primitive_bench" --small_bench="$small/primitive_bench" \
  --measure_seconds=1 \
  --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true \
  --benchmark_out="$out/primitive.json" --benchmark_out_format=json \
  --report_dir="$out"

"$bin/benchmarks/handshake_bench" \
  --benchmark_repetitions=25 --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=0.05 \
  --small_bench="$small/handshake_bench" --measure_seconds=0.5 \
  --benchmark_out="$out/handshake.json" --benchmark_out_format=json \
  --report_dir="$out"

"$bin/benchmarks/ftps_bench" \
  --benchmark_repetitions=5 --benchmark_min_time=0.5 \
  --benchmark_out="$out/ftps.json" --benchmark_out_format=json \
  --report_dir="$out"

# Starts its own redis-server (loopback, no persistence, a password).
"$bin/benchmarks/fleet_bench" \
  --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=0.2 \
  --benchmark_out="$out/fleet.json" --benchmark_out_format=json \
  --report_dir="$out"

{
  echo "# Benchmark results"
  echo
  echo "Made by \`benchmarks/run.sh\` on $(date -u +%Y-%m-%d)."
  echo
  sed 's/^# /## /' "$out/primitive.md"
  echo
  sed 's/^# /## /' "$out/handshake.md"
  echo
  sed 's/^# /## /' "$out/ftps.md"
  echo
  sed 's/^# /## /' "$out/fleet.md"
} > "$out/README.md"
echo "results in $out (README.md, *.json, *.svg)"
