#!/usr/bin/env bash
# Instructions per allocation and free under callgrind, noise-free: the allocator hook's cost
# over the allocator it wraps.
#
#   benches/callgrind/alloc.sh [WORKSPACE]
#
# Builds `alloc-hot-path` (benches/src/bin) in release and runs each case under
# `valgrind --tool=callgrind` at N = $ALLOC_N (default 1,000,000) and 10·N pairs of a 64-byte
# alloc and its free, and prints (total at 10·N - total at N) / 9·N for the calling thread per
# case, start-up and shutdown cancelling out: `system` (std's `System`), `profiled-off`
# (`spanscope::alloc::Profiled<System>` without `init`: the unsampled path) and `profiled-on`
# (sampling at the default 512 KiB: the sampled allocations' stack walks averaged in).
set -euo pipefail
workspace="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$workspace"
cargo build --release -q -p spanscope-benches --bin alloc-hot-path
binary="${CARGO_TARGET_DIR:-$workspace/target}/release/alloc-hot-path"
n="${ALLOC_N:-1000000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The instructions of the calling (main) thread.
run() {
  local out="$work/$1-$2.out"
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" "$binary" "$1" "$2" >/dev/null 2>&1
  awk '/^summary:/ { print $2 }' "$out-01"
}
printf '%-14s %12s\n' case 'instr/pair'
for case in system profiled-off profiled-on; do
  small=$(run "$case" "$n")
  large=$(run "$case" $((10 * n)))
  awk -v c="$case" -v s="$small" -v l="$large" -v n="$n" 'BEGIN { printf "%-14s %12.1f\n", c, (l - s) / (9 * n) }'
done
