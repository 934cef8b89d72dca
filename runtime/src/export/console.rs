//! The console exporter: each trace as an indented tree with durations, for development.
//!
//! Segments of one trace finish at different times (a spawned task may outlive its parent).
//! A trace is printed at the end of the batch in which its local root segment (the one that
//! began it in this process) arrives, with every segment of it seen so far stitched under the
//! spans that spawned them; segments arriving later print as a continuation.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use super::{Batch, ExportError, Exporter, Sent};
use crate::clock::Converter;
use crate::id::TraceId;
use crate::span::{RefKind, Segment, SpanKind, SpanLog};

#[derive(Debug)]
pub(crate) struct ConsoleExporter<W: Write + Send + std::fmt::Debug> {
    out: W,
    service: String,
    /// Segments waiting for their trace's local root, in arrival order.
    #[allow(clippy::vec_box)]
    pending: HashMap<TraceId, Vec<Box<Segment>>>,
}

impl<W: Write + Send + std::fmt::Debug> ConsoleExporter<W> {
    pub(crate) fn new(out: W, service: String) -> Self {
        Self { out, service, pending: HashMap::new() }
    }

    fn print(&self, text: &mut String, segments: &[Box<Segment>], clock: &Converter) {
        let service = &self.service;
        let roots: Vec<&Segment> =
            segments.iter().map(|s| &**s).filter(|s| !segments.iter().any(|p| is_child_of(s, p))).collect();
        for root in roots {
            let continued = root.parent.as_ref().is_some_and(|p| p.kind == RefKind::CrossThread);
            let _ =
                writeln!(text, "trace {} · {service}{}", root.trace_id, if continued { " (continued)" } else { "" });
            write_span(text, root, 0, segments, clock, 1);
        }
    }
}

fn is_child_of(child: &Segment, parent: &Segment) -> bool {
    child.parent.as_ref().and_then(|p| p.segment).is_some_and(|(id, _)| id == parent.id)
}

/// Writes span `index` of `segment`, its logs, its child spans and the segments spawned under
/// it, `depth` levels in.
fn write_span(text: &mut String, segment: &Segment, index: u32, all: &[Box<Segment>], clock: &Converter, depth: usize) {
    let span = &segment.spans[index as usize];
    let millis = clock.duration_nanos(span.start, span.end) as f64 / 1e6;
    let marker = if index == 0 && segment.parent.as_ref().is_some_and(|p| p.kind == RefKind::CrossThread) && depth > 1 {
        "↳ "
    } else {
        ""
    };
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
    // Logs, child spans and spawned segments, in the order they happened.
    let mut items: Vec<(u64, Item<'_>)> = Vec::new();
    items.extend(segment.logs.iter().filter(|l| l.span == index).map(|l| (l.tick, Item::Log(l))));
    items.extend(
        segment
            .spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.parent == index)
            .map(|(i, s)| (s.start, Item::Span(segment, i as u32))),
    );
    items.extend(
        all.iter()
            .filter(|s| s.parent.as_ref().and_then(|p| p.segment) == Some((segment.id, index)))
            .map(|s| (s.spans[0].start, Item::Span(s, 0))),
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
            Item::Span(segment, index) => write_span(text, segment, index, all, clock, depth + 1),
        }
    }
}

enum Item<'a> {
    Log(&'a SpanLog),
    Span(&'a Segment, u32),
}

/// Segments kept waiting for their local root at most; past this, everything pending prints.
const MAX_PENDING: usize = 10_000;

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
            if begins_trace {
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
