//! The logs hot path under callgrind (`benches/callgrind/logs.sh`): makes one kind of record N
//! times, so that instructions per record are (total at 10·N − total at N) / 9·N, with start-up
//! and first-use costs cancelled out. Cases:
//! - `tracing`: `tracing::info!` with three fields and a formatted message, through
//!   `registry().with(spanscope::tracing::layer())` as the global default;
//! - `tracing-off`: the same event at `debug!`, which spanscope's filter (`info`) turns away;
//! - `log`: `log::info!` with three key-values and a formatted message, through
//!   `spanscope::log::init()`;
//! - `log-off`: the same at `log::debug!`.
//!
//! spanscope logs to `local` in a temporary folder, with no trace or metrics exporter, the
//! profiler off, no per-call-site rate limit and a queue of 2²⁰ records, drained every 2¹⁶
//! records (`spanscope::flush`) so that none is dropped for a full queue. On exit it prints
//! spanscope's log counters on standard error (`made=… exported=… queue_full=…
//! rate_limited=…`), which the script checks.
//!
//! ```text
//! logs-hot-path CASE N
//! ```

use std::hint::black_box;

use tracing_subscriber::layer::SubscriberExt as _;

/// Records between two drains of the queue.
const RUN: u64 = 1 << 16;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|n| n.parse().ok()).expect("usage: logs-hot-path CASE N");
    let record: fn() = match case.as_str() {
        "tracing" => || tracing::info!(a = 1u64, b = "text", c = true, "request {}", black_box(42)),
        "tracing-off" => || tracing::debug!(a = 1u64, b = "text", c = true, "request {}", black_box(42)),
        "log" => || log::info!(a = 1, b = "text", c = true; "request {}", black_box(42)),
        "log-off" => || log::debug!(a = 1, b = "text", c = true; "request {}", black_box(42)),
        other => panic!("unknown case {other:?}: tracing, tracing-off, log or log-off"),
    };
    let dir = std::env::temp_dir().join(format!("spanscope-logs-hot-path-{}", std::process::id()));
    let guard = spanscope::init(
        spanscope::Config::new()
            .service_name("hot-path")
            .out_dir(&dir)
            .var("OTEL_LOGS_EXPORTER", "local")
            .var("OTEL_TRACES_EXPORTER", "none")
            .var("OTEL_METRICS_EXPORTER", "none")
            .var("SPANSCOPE_PROFILER", "off")
            .var("SPANSCOPE_LOGS_RATE_LIMIT", "0")
            .var("OTEL_BLRP_MAX_QUEUE_SIZE", (1usize << 20).to_string()),
    );
    if case.starts_with("tracing") {
        let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer());
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    } else {
        spanscope::log::init().expect("the only logger");
    }
    let mut left = n;
    while left > 0 {
        let run = left.min(RUN);
        (0..run).for_each(|_| record());
        left -= run;
        let _ = spanscope::flush();
    }
    let stats = spanscope::stats();
    eprintln!(
        "made={n} exported={} queue_full={} rate_limited={}",
        stats.log_records_exported, stats.log_records_dropped_queue_full, stats.log_records_rate_limited
    );
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);
}
