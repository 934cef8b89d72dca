//! Shared harness of the end-to-end tests: start spanscope once per test binary, with the local
//! exporter writing to a fresh folder, read back with `spanscope-readback` (re-exported here);
//! or, for tests that only look at the spans' tree, with `spanscope::testing`'s in-memory
//! exporter alone ([`setup_in_memory`], [`finished`]).

pub mod collector;
pub mod headers;
pub mod hostile;
pub mod http;
pub mod metrics;
pub mod otlp_logs;
pub mod profiles;
pub mod prometheus;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use spanscope::testing::{FinishedSpan, InMemoryExporter};

pub use spanscope_readback::{fresh_dir, read_spans, ExportedSpan, SpanSet, CLIENT, INTERNAL, SERVER};

/// The folder this test binary's spans go to, with spanscope initialised on first call.
pub fn setup() -> &'static Path {
    setup_with(|c| c)
}

/// Like [`setup`], with the config adjusted by the first caller.
pub fn setup_with(adjust: impl FnOnce(spanscope::Config) -> spanscope::Config) -> &'static Path {
    static STATE: OnceLock<(PathBuf, spanscope::Guard)> = OnceLock::new();
    let (dir, _) = STATE.get_or_init(|| {
        let dir = fresh_dir("spans");
        let config = adjust(spanscope::Config::new().service_name("tests").out_dir(&dir));
        (dir, spanscope::init(config))
    });
    dir
}

/// Like [`setup_with`], exporting only to the in-memory exporter that [`finished`] reads.
pub fn setup_in_memory(adjust: impl FnOnce(spanscope::Config) -> spanscope::Config) {
    setup_with(|config| adjust(config.exporters([]).exporter(memory().clone())));
}

/// The in-memory exporter of [`setup_in_memory`].
fn memory() -> &'static InMemoryExporter {
    static MEMORY: OnceLock<InMemoryExporter> = OnceLock::new();
    MEMORY.get_or_init(InMemoryExporter::new)
}

/// Flushes, then every span the in-memory exporter of [`setup_in_memory`] took, in the order
/// they ended.
pub fn finished() -> Vec<FinishedSpan> {
    assert!(spanscope::flush(), "flush timed out");
    memory().spans()
}

/// Like [`setup`], propagating W3C's formats and SkyWalking's `sw8` (not in the default set),
/// for tests whose callers send `sw8`.
pub fn setup_with_sw8() -> &'static Path {
    use spanscope::Propagator::{Baggage, Sw8, TraceContext};
    setup_with(|config| config.propagators([TraceContext, Baggage, Sw8]))
}

/// Flushes, then reads every span written to `dir/traces.jsonl`.
pub fn exported(dir: &Path) -> Vec<ExportedSpan> {
    assert!(spanscope::flush(), "flush timed out");
    read_spans(&dir.join("traces.jsonl"))
}

/// Queries over the spans of the in-memory exporter, as [`SpanSet`] over those read from a file.
pub trait FinishedSet {
    /// The only span called `name`.
    fn named(&self, name: &str) -> &FinishedSpan;
    /// The span with id `span_id` (hex).
    fn by_id(&self, span_id: &str) -> &FinishedSpan;
}

impl FinishedSet for [FinishedSpan] {
    fn named(&self, name: &str) -> &FinishedSpan {
        let found: Vec<_> = self.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "expected one span named {name:?}, found {}", found.len());
        found[0]
    }

    fn by_id(&self, span_id: &str) -> &FinishedSpan {
        self.iter().find(|s| s.span_id.to_string() == span_id).unwrap_or_else(|| panic!("no span {span_id}"))
    }
}

/// Checks on one span of the in-memory exporter.
pub trait FinishedCheck {
    /// Asserts this span's parent is `parent`, in the same trace.
    fn assert_child_of(&self, parent: &FinishedSpan);
}

impl FinishedCheck for FinishedSpan {
    fn assert_child_of(&self, parent: &FinishedSpan) {
        assert_eq!(self.trace_id, parent.trace_id, "{} and {} are in different traces", self.name, parent.name);
        assert_eq!(self.parent_span_id, Some(parent.span_id), "{} is not a child of {}", self.name, parent.name);
        assert!(self.start_time >= parent.start_time, "{} starts before its parent {}", self.name, parent.name);
    }
}
