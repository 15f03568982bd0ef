#!/usr/bin/env bash
# Runs the benchmark suites (optimized build) and writes JSON results, Markdown
# tables and SVG plots into a results folder (default: benchmarks/results).
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
bazel build -c opt //benchmarks:handshake_bench //benchmarks:ftps_bench \
  //benchmarks:fleet_bench
bin=$(bazel info -c opt bazel-bin 2>/dev/null)

"$bin/benchmarks/handshake_bench" \
  --benchmark_repetitions=25 --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=0.05 \
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
  sed 's/^# /## /' "$out/handshake.md"
  echo
  sed 's/^# /## /' "$out/ftps.md"
  echo
  sed 's/^# /## /' "$out/fleet.md"
} > "$out/README.md"
echo "results in $out (README.md, *.json, *.svg)"
