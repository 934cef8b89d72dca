//! The console exporter: each trace as an indented tree with durations, for development.
//!
//! Segments of one trace finish at different times, each in whichever batch its task or thread
//! ended in (a spawned task may outlive its parent). A trace is printed at the end of the batch
//! in which a segment that begins it in this process arrives (one without a parent here: a new
//! trace, or a call from another process), as one block holding every segment of it seen so
//! far, each under the span it continues. Spans are matched by id, so a segment continuing a
//! context handed over by hand (injected into a carrier and extracted on another thread) is
//! stitched in like one `spawn` continued. What arrives after its trace was printed makes a
//! block of its own with the same trace id, printed with the batch it arrives in: a segment
//! that outlived its parent's is marked `(continued)` (if its trace is among the last
//! [`RECENT`] printed; else it waits like the others); a second call from another process
//! prints as it comes, like the first. Segments whose trace never begins here (their parent's
//! segment was not sampled, or is still running at exit) print at exit, or when more than
//! [`MAX_PENDING`] wait.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::Write;

use crate::clock::Converter;
use crate::export::{Batch, ExportError, Exporter, Sent};
use crate::id::{SpanId, TraceId};
use crate::span::{RefKind, Segment, SpanKind, SpanLog};

#[derive(Debug)]
pub(crate) struct ConsoleExporter<W: Write + Send + std::fmt::Debug> {
    out: W,
    service: String,
    /// Segments waiting for a segment that begins their trace here, in arrival order.
    #[allow(clippy::vec_box)]
    pending: HashMap<TraceId, Vec<Box<Segment>>>,
    /// The last [`RECENT`] traces printed, newest last: more of them print as they arrive.
    printed: VecDeque<TraceId>,
}

impl<W: Write + Send + std::fmt::Debug> ConsoleExporter<W> {
    pub(crate) fn new(out: W, service: String) -> Self {
        Self { out, service, pending: HashMap::new(), printed: VecDeque::with_capacity(RECENT) }
    }

    /// Writes the segments of one trace as one block: a header, then each segment whose
    /// parent span is not among them as a tree, in the order they started.
    fn print(&self, text: &mut String, segments: &[Box<Segment>], clock: &Converter) {
        let Some(first) = segments.first() else { return };
        let trace = Trace::of(segments);
        let mut roots: Vec<usize> = (0..segments.len()).filter(|&s| trace.parent_of(s).is_none()).collect();
        roots.sort_by_key(|&s| segments[s].spans[0].start);
        // Continues a trace printed before: every tree continues a span of another thread.
        let continued = !roots.is_empty() && roots.iter().all(|&s| continues_thread(&segments[s]));
        let _ = writeln!(
            text,
            "trace {} · {}{}",
            first.trace_id,
            self.service,
            if continued { " (continued)" } else { "" }
        );
        // Segments naming each other's spans as parents (a remote caller can name any span id)
        // have no root among them: the first not yet written begins a tree, which stops at a
        // segment already written.
        let mut printed = vec![false; segments.len()];
        for s in roots.into_iter().chain(0..segments.len()) {
            if !printed[s] {
                write_span(text, &trace, s, 0, clock, 1, &mut printed);
            }
        }
    }
}

/// The segments of one trace, with what continues what.
struct Trace<'a> {
    segments: &'a [Box<Segment>],
    /// Where each span of these segments is: its segment and its index there.
    spans: HashMap<SpanId, (usize, u32)>,
    /// The segments continuing each span, by the span's position.
    continuing: HashMap<(usize, u32), Vec<usize>>,
}

impl<'a> Trace<'a> {
    fn of(segments: &'a [Box<Segment>]) -> Self {
        let spans: HashMap<SpanId, (usize, u32)> = segments
            .iter()
            .enumerate()
            .flat_map(|(s, segment)| (0..segment.spans.len() as u32).map(move |i| (segment.span_id(i), (s, i))))
            .collect();
        let mut trace = Self { segments, spans, continuing: HashMap::new() };
        for s in 0..segments.len() {
            if let Some(parent) = trace.parent_of(s) {
                trace.continuing.entry(parent).or_default().push(s);
            }
        }
        trace
    }

    /// The span among these that segment `s` continues.
    fn parent_of(&self, s: usize) -> Option<(usize, u32)> {
        let parent = self.segments[s].parent.as_ref()?;
        self.spans.get(&parent.span_id).copied().filter(|&(p, _)| p != s)
    }
}

/// Whether `segment` continues a span of this process on another thread or task.
fn continues_thread(segment: &Segment) -> bool {
    segment.parent.as_ref().is_some_and(|p| p.kind == RefKind::CrossThread)
}

/// Writes span `index` of segment `s`, its logs, its child spans and the segments continuing
/// it, `depth` levels in; marks the segments it writes in `printed`.
fn write_span(
    text: &mut String,
    trace: &Trace<'_>,
    s: usize,
    index: u32,
    clock: &Converter,
    depth: usize,
    printed: &mut [bool],
) {
    printed[s] = true;
    let segment = &*trace.segments[s];
    let span = &segment.spans[index as usize];
    let millis = clock.duration_nanos(span.start, span.end) as f64 / 1e6;
    // A segment's first span, when it continues a span written above or one of another thread.
    let marker = if index == 0 && (depth > 1 || continues_thread(segment)) { "↳ " } else { "" };
    let kind = match (span.kind, segment.peer(index)) {
        (SpanKind::Entry, _) => "entry".to_owned(),
        (SpanKind::Local, _) => "local".to_owned(),
        (SpanKind::Exit, Some(peer)) => format!("exit → {peer}"),
        (SpanKind::Exit, None) => "exit".to_owned(),
    };
    let _ = write!(text, "{:indent$}{marker}{} [{kind}] {millis:.3} ms", "", span.name, indent = depth * 2);
    for (_, meta, value) in segment.tags.iter().filter(|(i, _, _)| *i == index) {
        let _ = write!(text, " {}={value}", meta.wire_name());
    }
    if span.error {
        text.push_str(" ERROR");
    }
    text.push('\n');
    // Logs, child spans and continuing segments, in the order they happened.
    let mut items: Vec<(u64, Item<'_>)> = Vec::new();
    items.extend(segment.logs.iter().filter(|l| l.span == index).map(|l| (l.tick, Item::Log(l))));
    items.extend(
        segment
            .spans
            .iter()
            .enumerate()
            .filter(|(_, child)| child.parent == index)
            .map(|(i, child)| (child.start, Item::Span(s, i as u32))),
    );
    items.extend(
        trace
            .continuing
            .get(&(s, index))
            .into_iter()
            .flatten()
            .filter(|&&c| !printed[c])
            .map(|&c| (trace.segments[c].spans[0].start, Item::Span(c, 0))),
    );
    items.sort_by_key(|(tick, _)| *tick);
    for (_, item) in items {
        match item {
            Item::Log(log) => {
                let _ = write!(text, "{:indent$}· {}", "", log.name, indent = depth * 2 + 2);
                for (key, value) in &log.fields {
                    let _ = write!(text, " {key}={value}");
                }
                text.push('\n');
            }
            Item::Span(c, child) => write_span(text, trace, c, child, clock, depth + 1, printed),
        }
    }
}

enum Item<'a> {
    Log(&'a SpanLog),
    /// Span `.1` of segment `.0`.
    Span(usize, u32),
}

/// Segments kept waiting for their local root at most; past this, everything pending prints.
const MAX_PENDING: usize = 10_000;

/// Traces remembered as printed, so that a segment arriving after its trace printed follows it
/// at once.
const RECENT: usize = 256;

impl<W: Write + Send + std::fmt::Debug + 'static> Exporter for ConsoleExporter<W> {
    type Load = Batch;
    /// The text of the traces the batch completes.
    type Payload = String;

    fn name(&self) -> &str {
        "console"
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::MAX
    }

    fn encode(&mut self, batch: &Batch) -> String {
        let mut ready = Vec::new();
        for segment in &batch.segments {
            let begins_trace = segment.parent.as_ref().is_none_or(|p| p.kind == RefKind::CrossProcess);
            let waiting = self.pending.entry(segment.trace_id).or_default();
            waiting.push(segment.clone());
            if begins_trace || self.printed.contains(&segment.trace_id) {
                ready.push(segment.trace_id);
            }
        }
        if self.pending.values().map(Vec::len).sum::<usize>() > MAX_PENDING {
            ready = self.pending.keys().copied().collect();
        }
        let mut text = String::new();
        for trace in ready {
            if let Some(segments) = self.pending.remove(&trace) {
                self.print(&mut text, &segments, &batch.clock);
                if !self.printed.contains(&trace) {
                    if self.printed.len() == RECENT {
                        self.printed.pop_front();
                    }
                    self.printed.push_back(trace);
                }
            }
        }
        text
    }

    async fn send(&mut self, text: &String) -> Result<Sent, ExportError> {
        self.out.write_all(text.as_bytes()).map_err(ExportError::Io)?;
        Ok(Sent::default())
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }

    fn shutdown(&mut self) {
        // What never saw its local root (dropped, or still running elsewhere) prints as is.
        let pending: Vec<Vec<Box<Segment>>> = self.pending.drain().map(|(_, s)| s).collect();
        let clock = Converter::current();
        let mut text = String::new();
        for segments in pending {
            self.print(&mut text, &segments, &clock);
        }
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::span::ParentContext;

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
    const HEADER: &str = "trace 4bf92f3577b34da6a3ce929d0e0e4736 · shop";

    fn trace_id() -> TraceId {
        TraceId::from_int(TRACE).unwrap()
    }

    /// A segment of the trace whose first span is `name`, started at `tick`, continuing `parent`.
    fn segment(name: &'static str, kind: SpanKind, tick: u64, parent: Option<ParentContext>) -> Box<Segment> {
        Segment::boxed(trace_id(), true, parent, Cow::Borrowed(name), kind, tick, 16)
    }

    /// The span `span_id` of the trace known by its ids alone: extracted from a carrier (another
    /// process, as far as the extractor knows) or an OpenTelemetry context (another thread).
    fn by_id(kind: RefKind, span_id: SpanId) -> ParentContext {
        ParentContext::by_ids(kind, trace_id(), span_id)
    }

    /// Adds a span `name` under span `parent` of `segment`, from `start` to `end`.
    fn child(segment: &mut Segment, name: &'static str, parent: u32, start: u64, end: u64) -> u32 {
        let index = segment.push_span(Cow::Borrowed(name), SpanKind::Local, parent, start).unwrap();
        segment.end_span(index, end, None);
        index
    }

    fn ended(mut segment: Box<Segment>, end: u64) -> Box<Segment> {
        segment.end_span(0, end, None);
        segment
    }

    fn print(exporter: &mut ConsoleExporter<Vec<u8>>, segments: impl IntoIterator<Item = Box<Segment>>) -> String {
        let segments: Vec<_> = segments.into_iter().collect();
        let spans = segments.iter().map(|s| s.spans.len() as u64).sum();
        exporter.encode(&Batch { segments, spans, clock: Converter::current() })
    }

    fn exporter() -> ConsoleExporter<Vec<u8>> {
        ConsoleExporter::new(Vec::new(), "shop".to_owned())
    }

    /// Each line without its duration and what follows it.
    fn shape(text: &str) -> Vec<String> {
        text.lines().map(|line| line.split(" [").next().unwrap().to_owned()).collect()
    }

    /// Work handed to other threads with the context injected into a carrier and extracted
    /// there: the workers' segments continue "another process" that is a span of this one.
    #[test]
    fn segments_continuing_a_span_by_its_id_print_under_it() {
        let mut produce = segment("produce", SpanKind::Entry, 0, None);
        let send = child(&mut produce, "send", 0, 1, 2);
        let send_id = produce.span_id(send);
        let produce = ended(produce, 10);
        let first = ended(segment("job", SpanKind::Local, 3, Some(by_id(RefKind::CrossProcess, send_id))), 5);
        let mut second = segment("job", SpanKind::Local, 4, Some(by_id(RefKind::CrossThread, send_id)));
        child(&mut second, "step", 0, 5, 6);
        let second = ended(second, 7);

        let text = print(&mut exporter(), [first, second, produce]);
        assert_eq!(
            shape(&text),
            [HEADER, "  produce", "    send", "      ↳ job", "      ↳ job", "        step"],
            "{text}"
        );
    }

    #[test]
    fn calls_of_one_trace_from_another_process_print_as_one_block() {
        let remote = || Some(by_id(RefKind::CrossProcess, SpanId::from_int(7).unwrap()));
        let later = ended(segment("GET /b", SpanKind::Entry, 5, remote()), 6);
        let earlier = ended(segment("GET /a", SpanKind::Entry, 1, remote()), 2);
        let text = print(&mut exporter(), [later, earlier]);
        assert_eq!(shape(&text), [HEADER, "  GET /a", "  GET /b"], "{text}");
    }

    /// A segment that ends before its trace's root waits for it, whatever the batch; one that
    /// ends after the root printed follows it in a block of its own.
    #[test]
    fn segments_of_a_trace_in_other_batches_wait_for_its_root_or_follow_it() {
        let mut exporter = exporter();
        let root = segment("GET /", SpanKind::Entry, 0, None);
        // As `spawn` captures it.
        let early = ended(segment("spawned", SpanKind::Local, 1, Some(ParentContext::of(&root, 0))), 2);
        let late = ended(segment("detached", SpanKind::Local, 3, Some(ParentContext::of(&root, 0))), 9);
        assert_eq!(print(&mut exporter, [early]), "");
        let text = print(&mut exporter, [ended(root, 4)]);
        assert_eq!(shape(&text), [HEADER, "  GET /", "    ↳ spawned"], "{text}");
        let text = print(&mut exporter, [late]);
        assert_eq!(shape(&text), [&format!("{HEADER} (continued)"), "  ↳ detached"], "{text}");
    }

    /// Two segments naming each other's span as their parent (a remote caller can name any id):
    /// each is written once, and the exporter does not loop.
    #[test]
    fn segments_continuing_each_other_print_once() {
        let unknown = || Some(by_id(RefKind::CrossProcess, SpanId::from_int(1).unwrap()));
        let (mut a, mut b) = (segment("a", SpanKind::Entry, 0, unknown()), segment("b", SpanKind::Entry, 1, unknown()));
        a.parent.as_mut().unwrap().span_id = b.span_id(0);
        b.parent.as_mut().unwrap().span_id = a.span_id(0);
        let text = print(&mut exporter(), [ended(a, 2), ended(b, 3)]);
        assert_eq!(shape(&text), [HEADER, "  a", "    ↳ b"], "{text}");
    }
}
