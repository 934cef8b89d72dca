//! spanscope: a `#[spanscope::local]` child under a `#[spanscope::entry]` root, in three
//! configurations (sampled, unsampled, disabled), the same spans opened by hand, and a
//! `#[spanscope::profiled]` tag push + pop.
//!
//! Each configuration is its own `spanscope::init`, measured, then shut down by dropping the
//! guard before the next one starts. Sampled spans go to the default exporter (`local`:
//! OTLP/JSON lines in `Config::out_dir`), here a temporary directory removed afterwards. Metrics
//! are off, so that spans are compared with spans; the rest of the configuration is the default
//! (the CPU profiler included), so environment variables such as `OTEL_TRACES_SAMPLER` or
//! `SPANSCOPE_PROFILER` still apply; leave them unset when comparing numbers.

use std::hint::black_box;
use std::path::PathBuf;

use spanscope::{Config, Guard, Sampler};

spanscope::tags! {
    /// The profiler tag pushed by [`tagged`].
    pub route: &'static str = "http.route",
}

#[spanscope::entry(name = "root")]
#[inline(never)]
fn root(body: impl FnOnce()) {
    body();
}

#[spanscope::local]
#[inline(never)]
fn child(input: u64) -> u64 {
    black_box(input)
}

#[spanscope::profiled(route = "x")]
#[inline(never)]
fn tagged(input: u64) -> u64 {
    black_box(input)
}

/// One `spanscope::init` with its output directory; shut down and cleaned up on drop.
#[derive(Debug)]
struct Session {
    name: &'static str,
    out_dir: PathBuf,
    guard: Option<Guard>,
    stats_at_start: spanscope::Stats,
}

impl Session {
    fn start(name: &'static str, configure: impl FnOnce(Config) -> Config) -> Self {
        let out_dir = std::env::temp_dir().join(format!("spanscope-bench-{}-{name}", std::process::id()));
        // Spans alone, as the peers record them: `#[entry]`'s duration histogram is measured by
        // `callgrind/metrics.sh` (the `entry` case).
        let config = configure(Config::new().service_name("bench").out_dir(&out_dir).metrics_exporters([]));
        let stats_at_start = spanscope::stats();
        let guard = spanscope::init(config);
        Self { name, out_dir, guard: Some(guard), stats_at_start }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        spanscope::flush();
        drop(self.guard.take());
        // What the exporter did with this session's spans, so a run shows whether they were
        // really recorded, and how many the bounded queue dropped because the exporter could
        // not keep up (the producer side is measured either way). Silent when nothing was
        // recorded (a disabled or unsampled config, or a benchmark filtered out).
        let (start, end) = (&self.stats_at_start, spanscope::stats());
        let exported = end.spans_exported - start.spans_exported;
        let dropped = end.spans_dropped_queue_full - start.spans_dropped_queue_full;
        let other = (end.spans_dropped_segment_full + end.spans_dropped_shutdown + end.spans_dropped_export_error)
            - (start.spans_dropped_segment_full + start.spans_dropped_shutdown + start.spans_dropped_export_error);
        if exported + dropped + other > 0 {
            eprintln!(
                "spanscope/{}: {exported} spans exported, {dropped} dropped because the export queue was full, {other} dropped otherwise",
                self.name
            );
        }
        let _ = std::fs::remove_dir_all(&self.out_dir);
    }
}

/// Root + local children under one of the configurations below.
#[derive(Debug)]
pub struct Spans {
    _session: Session,
}

impl Spans {
    /// The default sampler (parent-based, always on): every span is recorded and exported.
    pub fn sampled() -> Self {
        Self { _session: Session::start("sampled", |c| c) }
    }

    /// `Sampler::AlwaysOff`: the root is unsampled, so are its children.
    pub fn unsampled() -> Self {
        Self { _session: Session::start("unsampled", |c| c.sampler(Sampler::AlwaysOff)) }
    }

    /// `Config::disabled(true)`: nothing runs.
    pub fn disabled() -> Self {
        Self { _session: Session::start("disabled", |c| c.disabled(true)) }
    }
}

impl super::shape::Peer for Spans {
    type Root = ();

    fn in_root(&self, body: impl FnOnce(&mut ())) {
        root(|| body(&mut ()));
    }

    fn child(&self, _root: &mut (), input: u64) -> u64 {
        child(input)
    }
}

/// The same shape with spans opened by hand (`spanscope::span::local(..).enter()`), sampled:
/// the guard form's cost beside the macros'.
#[derive(Debug)]
pub struct ByHand {
    _session: Session,
}

impl ByHand {
    pub fn sampled() -> Self {
        Self { _session: Session::start("by_hand", |c| c) }
    }
}

impl super::shape::Peer for ByHand {
    type Root = ();

    fn in_root(&self, body: impl FnOnce(&mut ())) {
        spanscope::span::entry("root").in_scope(|| body(&mut ()));
    }

    fn child(&self, _root: &mut (), input: u64) -> u64 {
        let span = spanscope::span::local("child").enter();
        let output = black_box(input);
        span.end();
        output
    }
}

/// Profiler tags only: each child pushes `route = "x"` and pops it; there is no span, and the
/// "root" is a plain call. Runs under the default configuration (profiler on).
#[derive(Debug)]
pub struct Tags {
    _session: Session,
}

impl Tags {
    pub fn setup() -> Self {
        Self { _session: Session::start("tag_push_pop", |c| c) }
    }
}

impl super::shape::Peer for Tags {
    type Root = ();

    fn in_root(&self, body: impl FnOnce(&mut ())) {
        body(&mut ());
    }

    fn child(&self, _root: &mut (), input: u64) -> u64 {
        tagged(input)
    }
}
