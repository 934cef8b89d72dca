//! The embedded default exporter: OTLP/JSON lines in a local folder, no server needed.

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::InitError;
use crate::export::jsonl::JsonLines;
use crate::export::resource::Resource;
use crate::export::traces::otlp::json::RequestWriter;
use crate::export::{Batch, ExportError, Exporter, Sent};
use crate::id::TraceId;

/// Appends each batch of finished segments to `traces.jsonl` as one line of OTLP/JSON (an
/// `ExportTraceServiceRequest`, as the OpenTelemetry Collector's file exporter writes them), in
/// one write (see [`JsonLines`]). A line per batch rather than per segment writes the resource
/// once per batch: it was a fifth of the bytes, and the bytes a busy service writes are what its
/// disk's writeback pays for. Traces keep 7/16 of `SPANSCOPE_OUT_MAX_MB` (metrics a sixteenth,
/// profiles half).
#[derive(Debug)]
pub(crate) struct TraceFile {
    name: String,
    lines: JsonLines,
    requests: RequestWriter,
    spans: u64,
    traces: DistinctTraces,
}

impl TraceFile {
    /// Appends to `dir/traces.jsonl`, keeping at most `max_bytes` of traces in `dir`.
    pub(crate) fn open(dir: &Path, resource: Arc<Resource>, max_bytes: u64) -> Result<Self, InitError> {
        let lines = JsonLines::open(dir, "traces", max_bytes)?;
        Ok(Self {
            name: format!("local ({})", lines.path().display()),
            lines,
            requests: RequestWriter::new(&resource),
            spans: 0,
            traces: DistinctTraces::default(),
        })
    }
}

/// A batch's lines, and what it adds to the totals reported at exit.
#[derive(Debug)]
pub(crate) struct Lines {
    text: Vec<u8>,
    spans: u64,
    /// The trace of each segment (a trace whose segments crossed threads or arrived from other
    /// processes more than once is there as many times).
    traces: Vec<TraceId>,
}

/// How many distinct traces the segments written belong to, in bounded memory: exact up to
/// [`KEPT`](Self::KEPT) traces, estimated past it (a standard error of about 3%). A trace is
/// counted once however many segments it has here: one per thread it crossed, one per call
/// from another process, each in whichever batch it ended in.
///
/// It keeps the `KEPT` smallest hashes of the trace ids seen (a "k minimum values" sketch):
/// while no more traces than that have been seen, they are all there to count; past it, how
/// close the largest kept hash is to zero tells how many hashes fill the range.
#[derive(Debug, Default)]
struct DistinctTraces {
    smallest: BTreeSet<u64>,
    /// Whether a trace was refused or pushed another out: the count is an estimate from then on.
    overflowed: bool,
    hasher: RandomState,
}

impl DistinctTraces {
    /// About 20 KB of hashes at most.
    const KEPT: usize = 1024;

    fn add(&mut self, trace: TraceId) {
        let hash = self.hasher.hash_one(trace);
        if self.smallest.len() < Self::KEPT || self.smallest.contains(&hash) {
            self.smallest.insert(hash);
            return;
        }
        self.overflowed = true;
        if self.smallest.last().is_some_and(|&largest| hash < largest) {
            self.smallest.pop_last();
            self.smallest.insert(hash);
        }
    }

    fn count(&self) -> TraceCount {
        match self.smallest.last() {
            Some(&largest) if self.overflowed => {
                // `KEPT - 1` hashes lie below `largest`, a fraction `largest / 2^64` of the range.
                let fraction = (largest as f64 + 1.0) / 2f64.powi(64);
                TraceCount::About((Self::KEPT - 1) as f64 / fraction)
            }
            _ => TraceCount::Exact(self.smallest.len()),
        }
    }
}

/// [`DistinctTraces`]' count as the exit line says it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TraceCount {
    Exact(usize),
    About(f64),
}

impl fmt::Display for TraceCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Exact(1) => f.write_str("1 trace"),
            Self::Exact(n) => write!(f, "{n} traces"),
            // Two significant digits: the estimate is not better than that.
            Self::About(n) => {
                let unit = 10f64.powi((n.log10().floor() as i32 - 1).max(0));
                write!(f, "about {} traces", (n / unit).round() * unit)
            }
        }
    }
}

impl Exporter for TraceFile {
    type Load = Batch;
    type Payload = Lines;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        // A local write does not hang in a way a timeout could help with.
        Duration::MAX
    }

    fn encode(&mut self, batch: &Batch) -> Lines {
        let mut text = Vec::with_capacity(self.requests.size_hint(batch.spans));
        self.requests.write(&mut text, batch.segments.iter().map(|segment| &**segment), &batch.clock);
        text.push(b'\n');
        let traces = batch.segments.iter().map(|segment| segment.trace_id).collect();
        Lines { text, spans: batch.spans, traces }
    }

    async fn send(&mut self, lines: &Lines) -> Result<Sent, ExportError> {
        self.lines.write(&lines.text).map_err(ExportError::Io)?;
        self.spans += lines.spans;
        for &trace in &lines.traces {
            self.traces.add(trace);
        }
        Ok(Sent::default())
    }

    fn flush(&mut self) {
        self.lines.flush();
    }

    fn shutdown(&mut self) {
        self.lines.flush();
        if self.spans > 0 {
            stderr_line!(
                "spanscope: wrote {} spans of {} to {}{}",
                self.spans,
                self.traces.count(),
                self.lines.path().display(),
                self.lines.rotated_note()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::path::PathBuf;

    use super::*;
    use crate::clock::Converter;
    use crate::config::env::Vars;
    use crate::config::Config;
    use crate::id::{SpanId, TraceId};
    use crate::span::{ParentContext, RefKind, Segment, SpanKind};

    /// A segment of one span, continuing a trace from another process or thread as `parent`
    /// says, else beginning it.
    fn segment(trace: u128, parent: Option<RefKind>) -> Box<Segment> {
        let trace_id = TraceId::from_int(trace).unwrap();
        let parent = parent.map(|kind| ParentContext::by_ids(kind, trace_id, SpanId::from_int(9).unwrap()));
        let mut segment = Segment::boxed(trace_id, true, parent, Cow::Borrowed("GET /"), SpanKind::Entry, 10, 16);
        segment.end_span(0, 20, None);
        segment
    }

    fn resource() -> Arc<Resource> {
        Arc::new(Resource::new(&Config::new().service_name("cart").resolve(&Vars::of(&[])).unwrap()))
    }

    /// An exporter to a folder of its own, for the test `name`, keeping `max_bytes` of traces.
    fn exporter(name: &str, max_bytes: u64) -> (PathBuf, TraceFile) {
        let dir = std::env::temp_dir().join(format!("spanscope-local-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let exporter = TraceFile::open(&dir, resource(), max_bytes).unwrap();
        (dir, exporter)
    }

    fn batch(traces: std::ops::Range<u128>) -> Batch {
        let segments: Vec<_> =
            traces.map(|trace| segment(trace, (trace % 2 == 0).then_some(RefKind::CrossProcess))).collect();
        Batch { spans: segments.len() as u64, segments, clock: Converter::current() }
    }

    #[test]
    fn a_batch_is_one_line_with_the_resource_once() {
        let (dir, mut exporter) = exporter("line", 1 << 20);
        let mut batch = batch(1..4);
        batch.segments.push(segment(3, Some(RefKind::CrossThread)));
        batch.spans += 1;
        let lines = exporter.encode(&batch);
        let _ = std::fs::remove_dir_all(&dir);

        let text = std::str::from_utf8(&lines.text).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        let request: serde_json::Value = serde_json::from_str(text).unwrap();
        let resource_spans = request["resourceSpans"].as_array().unwrap();
        assert_eq!(resource_spans.len(), 1);
        assert_eq!(resource_spans[0]["resource"]["attributes"][0]["value"]["stringValue"], "cart");
        let trace_ids: Vec<&str> = resource_spans[0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|span| span["traceId"].as_str().unwrap())
            .collect();
        assert_eq!(trace_ids.len(), 4);
        assert!(trace_ids[2].ends_with("03"), "{trace_ids:?}");
        assert_eq!(lines.spans, 4);
    }

    /// A trace is one trace whatever its segments here: one that crossed threads, one entered
    /// twice from another process, and segments of one trace in different batches.
    #[tokio::test]
    async fn the_exit_line_counts_each_trace_once() {
        let (dir, mut exporter) = exporter("count", 1 << 20);
        let mut first = batch(1..2);
        first.segments.push(segment(1, Some(RefKind::CrossThread)));
        first.segments.push(segment(2, Some(RefKind::CrossProcess)));
        first.segments.push(segment(2, Some(RefKind::CrossProcess)));
        first.spans = 4;
        let mut second = batch(3..4);
        second.segments.push(segment(1, Some(RefKind::CrossThread)));
        second.spans = 2;
        for batch in [first, second] {
            let lines = exporter.encode(&batch);
            exporter.send(&lines).await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(exporter.spans, 6);
        assert_eq!(exporter.traces.count(), TraceCount::Exact(3));
        assert_eq!(exporter.traces.count().to_string(), "3 traces");
    }

    #[test]
    fn traces_are_counted_exactly_up_to_what_is_kept() {
        let mut traces = DistinctTraces::default();
        for _ in 0..3 {
            for id in 1..=DistinctTraces::KEPT as u128 {
                traces.add(TraceId::from_int(id).unwrap());
            }
        }
        assert_eq!(traces.count(), TraceCount::Exact(DistinctTraces::KEPT));
        traces.add(TraceId::from_int(u128::MAX).unwrap());
        assert!(matches!(traces.count(), TraceCount::About(_)), "{:?}", traces.count());
    }

    /// Past what it keeps, the count is an estimate within a few percent (its standard error is
    /// 3%: the bound is six of them) and the memory stays bounded.
    #[test]
    fn many_traces_are_estimated_in_bounded_memory() {
        let mut traces = DistinctTraces::default();
        for id in 1..=100_000u128 {
            traces.add(TraceId::from_int(id).unwrap());
            traces.add(TraceId::from_int(id).unwrap());
        }
        assert_eq!(traces.smallest.len(), DistinctTraces::KEPT);
        let TraceCount::About(estimate) = traces.count() else { panic!("{:?}", traces.count()) };
        assert!((estimate / 100_000.0 - 1.0).abs() < 0.2, "{estimate}");
    }

    #[test]
    fn an_estimate_is_said_to_two_significant_digits() {
        assert_eq!(TraceCount::About(98_765.4).to_string(), "about 99000 traces");
        assert_eq!(TraceCount::About(1_234.0).to_string(), "about 1200 traces");
        assert_eq!(TraceCount::Exact(1).to_string(), "1 trace");
    }

    #[tokio::test]
    async fn traces_rotate_within_their_share_of_the_folder() {
        let (dir, mut exporter) = exporter("rotate", 8_000);
        let mut written = 0;
        for first in (1..200).step_by(4) {
            let lines = exporter.encode(&batch(first..first + 4));
            written += lines.text.len() as u64;
            exporter.send(&lines).await.unwrap();
        }
        let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
        let (current, previous) = (size("traces.jsonl"), size("traces.1.jsonl"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(written > 8 * 8_000, "the test writes well past the budget: {written}");
        assert!(exporter.lines.rotations() > 8, "{}", exporter.lines.rotations());
        // Each file holds under half the share, plus the one batch that crossed the line.
        let batch_bytes = written / 50 + 1;
        assert!(current > 0 && current < 4_000 + batch_bytes, "{current}");
        assert!(previous >= 4_000 && previous < 4_000 + batch_bytes, "{previous}");
    }

    /// Threads standing for processes that share the folder, each with its own open file, fill
    /// it over and over: whatever reaches `traces.1.jsonl` is a file that was full, never the
    /// new file another had just started. (Elsewhere than on Linux there is no lock.)
    #[cfg(target_os = "linux")]
    #[test]
    fn processes_finding_the_file_full_at_once_take_turns_to_rotate_it() {
        const WRITERS: usize = 4;
        let (dir, mut first) = exporter("turns", 4_000);
        let (rotate_at, lines) = (first.lines.rotate_at(), first.encode(&batch(1..2)));
        let start = std::sync::Barrier::new(WRITERS);
        let rotations: u64 = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|_| {
                    scope.spawn(|| {
                        let mut exporter = TraceFile::open(&dir, resource(), 4_000).unwrap();
                        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                        start.wait();
                        for _ in 0..2_000 {
                            runtime.block_on(exporter.send(&lines)).unwrap();
                            if let Ok(previous) = std::fs::metadata(dir.join("traces.1.jsonl")) {
                                assert!(previous.len() >= rotate_at, "a new file was rotated: {}", previous.len());
                            }
                        }
                        exporter.lines.rotations()
                    })
                })
                .collect();
            writers.into_iter().map(|writer| writer.join().unwrap()).sum()
        });
        let _ = std::fs::remove_dir_all(&dir);
        assert!(rotations > 100, "{rotations}");
    }

    #[tokio::test]
    async fn a_folder_shared_with_another_process_is_rotated_once() {
        let (dir, mut first) = exporter("shared", 4_000);
        // The other process keeps a larger budget: it follows the first's rotation all the same.
        let mut second = TraceFile::open(&dir, resource(), 1 << 20).unwrap();
        let lines = first.encode(&batch(1..20));
        first.send(&lines).await.unwrap();
        // The first finds the file full and rotates it; the second then finds a new one at
        // the path, which it must write to, and not rotate away in turn.
        first.send(&lines).await.unwrap();
        second.send(&lines).await.unwrap();
        let text = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let (current, previous) = (text("traces.jsonl"), text("traces.1.jsonl"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((first.lines.rotations(), second.lines.rotations()), (1, 1));
        assert_eq!(previous.lines().count(), 1, "the line written before the rotation is kept");
        assert_eq!(current.lines().count(), 2, "both lines written after it are in the new file");
    }
}
