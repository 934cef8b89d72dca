#!/usr/bin/env bash
# Instructions per log record under callgrind, noise-free: the logs hot-path figures, measured
# the same way every time.
#
#   benches/callgrind/logs.sh [WORKSPACE]
#
# Builds `logs-hot-path` (benches/src/bin) in release and runs each case under
# `valgrind --tool=callgrind --separate-threads=yes` at N = $LOGS_N (default 100,000) and 10·N
# records, and prints (total at 10·N - total at N) / 9·N per case, for the calling thread alone
# (the hot path: filter, record, queue) and for all threads (plus the reporter taking the records
# from the queue, batching them and handing them to the `local` exporter): start-up, first use
# and shutdown cancel out. The cases (see the bin): `tracing` (an enabled `tracing::info!` with
# three fields), `tracing-off` (the same at `debug!`, filtered out), `log` and `log-off` (the
# `log` macros' equivalents), and the same through the peers: `otel-tracing`, `otel-tracing-off`,
# `otel-log` (the OpenTelemetry appenders over the SDK's batch processor) and `fmt-tracing`,
# `fmt-tracing-off` (`tracing-subscriber`'s `fmt` to a sink). LOGS_CASES="tracing log" runs only
# those. spanscope's profiler is off. Every run must drop no record for a full
# queue or the rate limit (the bin prints its counters; the script stops otherwise).
# CALLGRIND_KEEP=DIR keeps the callgrind outputs there (`callgrind_annotate DIR/tracing-1000000.out-01`).
set -euo pipefail
workspace="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$workspace"
cargo build --release -q -p spanscope-benches --bin logs-hot-path
binary="${CARGO_TARGET_DIR:-$workspace/target}/release/logs-hot-path"
n="${LOGS_N:-100000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
keep="${CALLGRIND_KEEP:-}"
[ -n "$keep" ] && mkdir -p "$keep"
# Prints "CALLER ALL": the instructions of the calling thread and of all threads.
run() {
  local case="$1" count="$2" out="$work/$1-$2.out" counters
  counters=$(valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" "$binary" "$case" "$count" 2>&1 >/dev/null | grep '^made=' || true)
  case "$counters" in
    *" queue_full=0 rate_limited=0") ;;
    *) echo "logs.sh: $case $count: records dropped or no counters: '$counters'" >&2; exit 1 ;;
  esac
  [ -n "$keep" ] && cp "$out"-* "$keep"/
  local caller all
  caller=$(awk '/^summary:/ { print $2 }' "$out-01")
  all=$(cat "$out"-* | awk '/^summary:/ { sum += $2 } END { print sum }')
  echo "$caller $all"
}
echo "| case | instructions per record, calling thread | all threads |"
echo "| --- | ---: | ---: |"
per_record() { awk -v small="$1" -v large="$2" -v n="$n" 'BEGIN { printf "%.1f", (large - small) / (9 * n) }'; }
for case in ${LOGS_CASES:-tracing tracing-off log log-off otel-tracing otel-tracing-off otel-log fmt-tracing fmt-tracing-off}; do
  small=$(run "$case" "$n")
  large=$(run "$case" $((10 * n)))
  read -r small_caller small_all <<<"$small"
  read -r large_caller large_all <<<"$large"
  echo "| $case | $(per_record "$small_caller" "$large_caller") | $(per_record "$small_all" "$large_all") |"
done
