#!/usr/bin/env bash
# Instructions per metric recording under callgrind, noise-free: the README's metrics hot-path
# figures, measured the same way every time.
#
#   benches/callgrind/metrics.sh [WORKSPACE]
#
# Builds `metrics-hot-path` (benches/src/bin) in release, runs each case under
# `valgrind --tool=callgrind` at N = 100,000 and N = 1,100,000 recordings, and prints
# (total at 1,100,000 - total at 100,000) / 1,000,000 per case: start-up, the first use of an
# attribute set and shutdown cancel out. The profiler is off (`SPANSCOPE_PROFILER=off`): it
# samples by CPU time, which valgrind stretches. About a minute on a 2-core machine once built.
set -euo pipefail
workspace="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$workspace"
cargo build --release -q -p spanscope-benches --bin metrics-hot-path
binary="${CARGO_TARGET_DIR:-$workspace/target}/release/metrics-hot-path"
total() {
  local out
  out=$(mktemp)
  SPANSCOPE_PROFILER=off valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" "$1" "$2" 2>/dev/null >/dev/null
  awk '/^summary:/ { print $2 }' "$out"
  rm -f "$out"
}
echo "| case | instructions per recording |"
echo "| --- | ---: |"
for case in counter bound histogram off entry entry-off; do
  small=$(total "$case" 100000)
  large=$(total "$case" 1100000)
  echo "| $case | $(( (large - small) / 1000000 )) |"
done
