//! Log records, side by side in one run: spanscope's `tracing` layer and `log` bridge against
//! `opentelemetry-appender-tracing` and `opentelemetry-appender-log` over the OpenTelemetry SDK's
//! batch log processor, and `tracing-subscriber`'s `fmt` layer writing to a sink.
//!
//! ```sh
//! cargo bench -p spanscope-benches --bench logs
//! ```
//!
//! Groups (every peer measured on the same call site, one peer's subscriber alive at a time):
//! - `tracing event, 3 fields, enabled`: `info!(a = 1u64, b = "text", c = true, "request {}", 42)`
//!   recorded and queued (spanscope, OpenTelemetry) or formatted and written (`fmt`);
//! - `tracing event, filtered out`: the same event at `debug!`, with every peer filtering at
//!   `info`;
//! - `log record, 3 key-values, enabled`: the `log` equivalent, `info!(a = 1, b = "text",
//!   c = true; "request {}", 42)`, for the two `log` bridges.
//!
//! At the end it prints each case's time and the ratio spanscope / peer, read from criterion's
//! estimates of this run.
//!
//! # Setup
//! - spanscope: initialised once for the run with `OTEL_LOGS_EXPORTER=local` to a temporary
//!   folder, no trace or metrics exporter, the profiler off, the default filter (`info`), no
//!   per-call-site rate limit (`SPANSCOPE_LOGS_RATE_LIMIT=0`: a loop on one call site would
//!   otherwise measure the rate limiter's refusal after 1000 records a second) and a queue of
//!   2²⁰ records (`OTEL_BLRP_MAX_QUEUE_SIZE`). The `tracing` peer is
//!   `registry().with(spanscope::tracing::layer())`, the `log` peer `spanscope::log::logger()`.
//! - OpenTelemetry: an `SdkLoggerProvider` with a `BatchLogProcessor` (queue of 2²⁰ records too)
//!   whose exporter counts and discards each batch. The `tracing` peer is
//!   `OpenTelemetryTracingBridge` behind the per-layer `EnvFilter::new("info")` its examples put
//!   on it; the `log` peer `OpenTelemetryLogBridge`.
//! - `fmt`: `fmt::layer().with_writer(io::sink)` behind a per-layer `LevelFilter::INFO`, its
//!   default format (time, level, target, message and fields).
//!
//! Each `tracing` peer's subscriber is built right before its benchmark, made the thread's
//! default with `tracing::subscriber::with_default`, and dropped after it: `tracing` caches one
//! interest per call site for all live subscribers, so a second live subscriber that disagrees
//! would turn every peer's cached `always`/`never` into a per-event question.
//!
//! `log` has one global logger: both `log` peers are called directly through `log::Log::log`
//! with the same `log::Record`, built in the loop the way the `log::info!` macro builds it
//! (module path, file and line static, the message as `format_args!`, the key-values as a slice
//! of `log::kv::Value`s). What the macro adds before that call, a load of `log`'s maximum level,
//! is the same for every logger and left out.
//!
//! # Queues
//! Both libraries drop records when their queue is full, and a tight loop outruns a reporter
//! on a 2-core machine; the drop path would then be measured instead of recording and
//! queueing. So each measured batch of iterations is cut into runs of at most 2¹⁶ records (a
//! sixteenth of either queue), and between two runs, outside the measured time, the queue is
//! drained (`spanscope::flush()`, `SdkLoggerProvider::force_flush()`). After each group the
//! bench prints how many records each library took, exported and dropped, to show none was
//! dropped for a full queue.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Bencher, Criterion};
use opentelemetry_appender_log::OpenTelemetryLogBridge;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer as _;

#[path = "../src/logs_setup.rs"]
mod logs_setup;
use logs_setup::RUN;

const ENABLED: &str = "tracing event, 3 fields, enabled";
const FILTERED: &str = "tracing event, filtered out";
const LOG: &str = "log record, 3 key-values, enabled";

/// The event every `tracing` peer records: one call site for all.
#[inline(never)]
fn info_event() {
    tracing::info!(a = 1u64, b = "text", c = true, "request {}", black_box(42));
}

/// The same event at a level every peer filters out.
#[inline(never)]
fn debug_event() {
    tracing::debug!(a = 1u64, b = "text", c = true, "request {}", black_box(42));
}

/// Hands `log` the record `log::info!(a = 1, b = "text", c = true; "request {}", 42)` makes.
#[inline(never)]
fn log_record(logger: &dyn log::Log) {
    let key_values =
        [("a", log::kv::Value::from(1i64)), ("b", log::kv::Value::from("text")), ("c", log::kv::Value::from(true))];
    logger.log(
        &log::Record::builder()
            .args(format_args!("request {}", black_box(42)))
            .level(log::Level::Info)
            .target(module_path!())
            .module_path_static(Some(module_path!()))
            .file_static(Some(file!()))
            .line(Some(line!()))
            .key_values(&key_values)
            .build(),
    );
}

/// spanscope initialised for the whole run (see the module's doc).
fn spanscope_on() {
    static GUARD: OnceLock<spanscope::Guard> = OnceLock::new();
    GUARD.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("spanscope-logs-bench-{}", std::process::id()));
        spanscope::init(logs_setup::spanscope_config("bench", &dir))
    });
}

fn drain_spanscope() {
    let _ = spanscope::flush();
}

/// The OpenTelemetry SDK's logs set up as a service runs them, minus the network, and what its
/// exporter has seen.
struct Otel {
    provider: SdkLoggerProvider,
    exported: Arc<AtomicU64>,
    /// Records handed to it by the measured loops.
    made: u64,
}

impl Otel {
    fn new() -> Self {
        let (provider, exported) = logs_setup::otel_provider();
        Self { provider, exported, made: 0 }
    }

    fn drain(&self) {
        let _ = self.provider.force_flush();
    }

    /// Prints what it took and exported after `case`; when `kept` (the events were not filtered
    /// out), every event not exported was dropped at the full queue.
    fn report(&self, case: &str, kept: bool) {
        self.drain();
        let exported = self.exported.load(Ordering::Relaxed);
        let dropped = if kept { self.made.saturating_sub(exported) } else { 0 };
        eprintln!(
            "{case} / OpenTelemetry: {} events, {exported} records exported, {dropped} dropped (queue full)",
            self.made
        );
    }
}

/// spanscope's log counters at one moment, to print what a group changed.
struct SpanscopeCounts {
    at_start: spanscope::Stats,
    made: u64,
}

impl SpanscopeCounts {
    fn start() -> Self {
        Self { at_start: spanscope::stats(), made: 0 }
    }

    fn report(&self, case: &str) {
        spanscope::flush();
        let (start, end) = (&self.at_start, spanscope::stats());
        eprintln!(
            "{case} / spanscope: {} events, {} records exported, {} dropped (queue full), {} rate-limited, {} dropped \
             otherwise",
            self.made,
            end.log_records_exported - start.log_records_exported,
            end.log_records_dropped_queue_full - start.log_records_dropped_queue_full,
            end.log_records_rate_limited - start.log_records_rate_limited,
            (end.log_records_dropped_shutdown + end.log_records_dropped_export_error)
                - (start.log_records_dropped_shutdown + start.log_records_dropped_export_error),
        );
    }
}

/// Times `iters` calls of `record` in runs of at most [`RUN`], calling `drain` between runs
/// outside the measured time; adds `iters` to `made`.
fn timed(iters: u64, made: &mut u64, mut record: impl FnMut(), mut drain: impl FnMut()) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let run = left.min(RUN);
        let start = Instant::now();
        for _ in 0..run {
            record();
        }
        elapsed += start.elapsed();
        left -= run;
        drain();
    }
    *made += iters;
    elapsed
}

/// The three `tracing` peers on one event, each subscriber alive only for its own benchmark.
fn tracing_peers(c: &mut Criterion, case: &str, event: fn(), kept: bool) {
    spanscope_on();
    let mut group = c.benchmark_group(case);

    let mut counts = SpanscopeCounts::start();
    let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer());
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("spanscope", |b: &mut Bencher<'_>| {
            b.iter_custom(|iters| timed(iters, &mut counts.made, event, drain_spanscope))
        });
    });
    counts.report(case);

    let mut otel = Otel::new();
    let layer = OpenTelemetryTracingBridge::new(&otel.provider).with_filter(EnvFilter::new("info"));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("opentelemetry-appender-tracing", |b: &mut Bencher<'_>| {
            b.iter_custom(|iters| {
                let mut made = 0;
                let elapsed = timed(iters, &mut made, event, || otel.drain());
                otel.made += made;
                elapsed
            })
        });
    });
    otel.report(case, kept);
    let _ = otel.provider.shutdown();

    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::sink).with_filter(LevelFilter::INFO);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("tracing-subscriber fmt", |b: &mut Bencher<'_>| {
            b.iter_custom(|iters| timed(iters, &mut 0, event, || {}))
        });
    });
    group.finish();
}

fn tracing_events(c: &mut Criterion) {
    started();
    tracing_peers(c, ENABLED, info_event, true);
    tracing_peers(c, FILTERED, debug_event, false);
}

fn log_records(c: &mut Criterion) {
    spanscope_on();
    let mut group = c.benchmark_group(LOG);

    let mut counts = SpanscopeCounts::start();
    let spanscope = spanscope::log::logger();
    group.bench_function("spanscope", |b: &mut Bencher<'_>| {
        b.iter_custom(|iters| timed(iters, &mut counts.made, || log_record(spanscope), drain_spanscope))
    });
    counts.report(LOG);

    let mut otel = Otel::new();
    let bridge = OpenTelemetryLogBridge::new(&otel.provider);
    group.bench_function("opentelemetry-appender-log", |b: &mut Bencher<'_>| {
        b.iter_custom(|iters| {
            let mut made = 0;
            let elapsed = timed(iters, &mut made, || log_record(&bridge), || otel.drain());
            otel.made += made;
            elapsed
        })
    });
    otel.report(LOG, true);
    let _ = otel.provider.shutdown();
    group.finish();
}

/// Prints each case's time and spanscope's ratio to each peer, from criterion's estimates
/// written during this run.
fn ratios(_: &mut Criterion) {
    let Some(dir) = criterion_dir() else {
        eprintln!("logs bench: criterion's output folder not found, no ratios");
        return;
    };
    let mut found = BTreeMap::<String, BTreeMap<String, f64>>::new();
    collect(&dir, started(), &mut found);
    let mut table =
        String::from("\n| case | peer | ns | spanscope ns | spanscope / peer |\n| --- | --- | ---: | ---: | ---: |\n");
    for group in [ENABLED, FILTERED, LOG] {
        let Some(peers) = found.get(group) else { continue };
        let ours = peers.get("spanscope").copied();
        for (peer, ns) in peers.iter().filter(|(peer, _)| *peer != "spanscope") {
            let (ours_text, ratio) = match ours {
                Some(ours) => (format!("{ours:.2}"), format!("{:.3}", ours / ns)),
                None => (String::from("-"), String::from("-")),
            };
            let _ = writeln!(table, "| {group} | {peer} | {ns:.2} | {ours_text} | {ratio} |");
        }
    }
    println!("{table}");
}

/// When this process started, roughly: estimates older than that are another run's.
fn started() -> SystemTime {
    static STARTED: OnceLock<SystemTime> = OnceLock::new();
    *STARTED.get_or_init(SystemTime::now)
}

/// Where criterion writes: `CRITERION_HOME`, else `criterion` in the target folder.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    Some(target.join("criterion")).filter(|dir| dir.is_dir())
}

/// Gathers `group → function → ns per iteration` from the `new/` estimates under `dir` written
/// since `since`: criterion's headline figure, the slope of its fit, else the mean.
fn collect(dir: &Path, since: SystemTime, found: &mut BTreeMap<String, BTreeMap<String, f64>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|name| name == "new") {
            let Some((group, function, ns)) = estimate(&path, since) else { continue };
            found.entry(group).or_default().insert(function, ns);
        } else {
            collect(&path, since, found);
        }
    }
}

fn estimate(new: &Path, since: SystemTime) -> Option<(String, String, f64)> {
    let estimates = new.join("estimates.json");
    if std::fs::metadata(&estimates).and_then(|meta| meta.modified()).ok()? < since {
        return None;
    }
    let read = |path: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let benchmark = read(new.join("benchmark.json"))?;
    let group = benchmark.get("group_id")?.as_str()?.to_owned();
    if ![ENABLED, FILTERED, LOG].contains(&group.as_str()) {
        return None;
    }
    let function = benchmark.get("function_id")?.as_str()?.to_owned();
    let estimates = read(estimates)?;
    let ns = ["slope", "mean"].iter().find_map(|kind| estimates.get(kind)?.get("point_estimate")?.as_f64())?;
    Some((group, function, ns))
}

criterion_group!(benches, tracing_events, log_records, ratios);
criterion_main!(benches);
