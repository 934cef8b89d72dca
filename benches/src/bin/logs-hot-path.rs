//! The logs hot path under callgrind (`benches/callgrind/logs.sh`): makes one kind of record N
//! times, so that instructions per record are (total at 10·N − total at N) / 9·N, with start-up
//! and first-use costs cancelled out. Cases:
//! - `tracing`: `tracing::info!` with three fields and a formatted message, through
//!   `registry().with(spanscope::tracing::layer())` as the global default;
//! - `tracing-off`: the same event at `debug!`, which spanscope's filter (`info`) turns away;
//! - `log`: `log::info!` with three key-values and a formatted message, through
//!   `spanscope::log::init()`;
//! - `log-off`: the same at `log::debug!`;
//! - the peers, for ratios without noise: `otel-tracing` and `otel-log` (the `tracing` and `log`
//!   cases through `opentelemetry-appender-tracing` behind `EnvFilter::new("info")` and
//!   `opentelemetry-appender-log`, over an `SdkLoggerProvider` with a `BatchLogProcessor` of
//!   2²⁰ records whose exporter counts and discards, drained every 2¹⁶ records), `otel-tracing-off`,
//!   and `fmt-tracing` / `fmt-tracing-off` (`fmt::layer()` writing to `io::sink` behind
//!   `LevelFilter::INFO`). spanscope is not initialised for them.
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
use std::sync::atomic::Ordering;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer as _;

#[path = "../logs_setup.rs"]
mod logs_setup;
use logs_setup::RUN;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|n| n.parse().ok()).expect("usage: logs-hot-path CASE N");
    let info: fn() = || tracing::info!(a = 1u64, b = "text", c = true, "request {}", black_box(42));
    let debug: fn() = || tracing::debug!(a = 1u64, b = "text", c = true, "request {}", black_box(42));
    let log_info: fn() = || log::info!(a = 1, b = "text", c = true; "request {}", black_box(42));
    let log_debug: fn() = || log::debug!(a = 1, b = "text", c = true; "request {}", black_box(42));
    let (peer, record) = match case.as_str() {
        "tracing" | "otel-tracing" | "fmt-tracing" => (case.split('-').next(), info),
        "tracing-off" | "otel-tracing-off" | "fmt-tracing-off" => (case.split('-').next(), debug),
        "log" | "otel-log" => (case.split('-').next(), log_info),
        "log-off" => (Some("log"), log_debug),
        other => panic!(
            "unknown case {other:?}: tracing, tracing-off, log, log-off, otel-tracing, otel-tracing-off, otel-log, \
             fmt-tracing, fmt-tracing-off"
        ),
    };
    match peer {
        Some("otel") => otel(&case, n, record),
        Some("fmt") => {
            let layer = tracing_subscriber::fmt::layer().with_writer(std::io::sink).with_filter(LevelFilter::INFO);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).expect("the only one");
            (0..n).for_each(|_| record());
            let written = if case.ends_with("-off") { 0 } else { n };
            eprintln!("made={n} exported={written} queue_full=0 rate_limited=0");
        }
        _ => spanscope(&case, n, record),
    }
}

/// The OpenTelemetry peers.
fn otel(case: &str, n: u64, record: fn()) {
    let (provider, exported) = logs_setup::otel_provider();
    if case.contains("tracing") {
        let layer = opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider)
            .with_filter(EnvFilter::new("info"));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).expect("the only one");
    } else {
        log::set_boxed_logger(Box::new(opentelemetry_appender_log::OpenTelemetryLogBridge::new(&provider)))
            .expect("the only logger");
        log::set_max_level(log::LevelFilter::Info);
    }
    in_runs(n, record, || {
        let _ = provider.force_flush();
    });
    let exported = exported.load(Ordering::Relaxed);
    let kept = if case.ends_with("-off") { 0 } else { n };
    eprintln!("made={n} exported={exported} queue_full={} rate_limited=0", kept.saturating_sub(exported));
    let _ = provider.shutdown();
}

/// spanscope's cases.
fn spanscope(case: &str, n: u64, record: fn()) {
    let dir = std::env::temp_dir().join(format!("spanscope-logs-hot-path-{}", std::process::id()));
    let guard = spanscope::init(logs_setup::spanscope_config("hot-path", &dir));
    if case.starts_with("tracing") {
        let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer());
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    } else {
        spanscope::log::init().expect("the only logger");
    }
    in_runs(n, record, || {
        let _ = spanscope::flush();
    });
    let stats = spanscope::stats();
    eprintln!(
        "made={n} exported={} queue_full={} rate_limited={}",
        stats.log_records_exported, stats.log_records_dropped_queue_full, stats.log_records_rate_limited
    );
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);
}

/// Calls `record` `n` times, calling `drain` after every [`RUN`] calls and at the end.
fn in_runs(n: u64, mut record: impl FnMut(), mut drain: impl FnMut()) {
    let mut left = n;
    while left > 0 {
        let run = left.min(RUN);
        (0..run).for_each(|_| record());
        left -= run;
        drain();
    }
}
