//! The in-memory exporter of `spanscope::testing`: finished spans kept in a store the test
//! reads, in the spirit of fastrace's `TestReporter` and OpenTelemetry's
//! `InMemorySpanExporter`. It is a lane like any other, so [`flush`](crate::flush) waits for
//! it and `stats()` counts what it takes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::export::traces::otlp::model::{self, Value};
use crate::export::{Batch, ExportError, Exporter, Sent};
use crate::id::{SpanId, TraceId};
use crate::span::SpanKind;

/// Keeps every span it is given, for a test to read; clones share one store.
///
/// ```no_run
/// let exporter = spanscope::testing::InMemoryExporter::new();
/// let _guard = spanscope::init(spanscope::Config::new().service_name("t").exporter(exporter.clone()));
/// spanscope::span::local("work").in_scope(|| {});
/// spanscope::flush();
/// assert_eq!(exporter.spans()[0].name, "work");
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryExporter {
    store: Arc<Mutex<Vec<FinishedSpan>>>,
}

/// A span as the in-memory exporter keeps it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FinishedSpan {
    pub name: String,
    pub kind: SpanKind,
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The parent in its trace: the span it was opened under, here or in the caller.
    pub parent_span_id: Option<SpanId>,
    /// The tags (and attributes such as `server.address`), by wire name, with their values as
    /// text.
    pub tags: Vec<(String, String)>,
    /// The messages of its logs, in order (an error is logged as `exception`).
    pub logs: Vec<String>,
    pub is_error: bool,
    pub start_time: SystemTime,
    pub end_time: SystemTime,
    /// On the first span of a segment that continues a span of another thread, task or
    /// process: that span.
    pub link: Option<SpanLink>,
}

/// The span a segment continues, as its first span links it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// Whether the linked span is in another process (else in another thread or task here).
    pub is_remote: bool,
}

impl FinishedSpan {
    /// The value of the tag with wire name `key`, as text.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl InMemoryExporter {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every span exported so far, in the order they ended. Call [`flush`](crate::flush) first:
    /// a span reaches the store when its segment is exported.
    pub fn spans(&self) -> Vec<FinishedSpan> {
        let mut spans = self.store.lock().unwrap_or_else(PoisonError::into_inner).clone();
        spans.sort_by_key(|span| span.end_time);
        spans
    }

    /// Forgets every span kept so far.
    pub fn clear(&self) {
        self.store.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// The lane's end: it writes into the shared store.
    pub(crate) fn lane(&self) -> MemoryLane {
        MemoryLane { store: Arc::clone(&self.store) }
    }
}

impl crate::config::CodeExporter for InMemoryExporter {}
impl crate::config::sealed::Sealed for InMemoryExporter {}

/// The in-memory exporter on its lane.
#[derive(Debug)]
pub(crate) struct MemoryLane {
    store: Arc<Mutex<Vec<FinishedSpan>>>,
}

impl Exporter for MemoryLane {
    type Load = Batch;
    type Payload = Vec<FinishedSpan>;

    fn name(&self) -> &str {
        "memory"
    }

    fn timeout(&self) -> Duration {
        Duration::MAX
    }

    fn encode(&mut self, batch: &Batch) -> Vec<FinishedSpan> {
        let spans = batch.segments.iter().flat_map(|segment| model::spans(segment, &batch.clock));
        spans
            .map(|span| {
                let mut tags = Vec::new();
                span.attributes(|key, value| tags.push((key.to_owned(), text(value))));
                let time = |nanos| UNIX_EPOCH + Duration::from_nanos(nanos);
                FinishedSpan {
                    name: span.name().to_owned(),
                    kind: span.span_kind(),
                    trace_id: span.trace_id(),
                    span_id: span.span_id(),
                    parent_span_id: span.parent_span_id(),
                    tags,
                    logs: span.events().map(|event| event.name().to_owned()).collect(),
                    is_error: span.error().is_some(),
                    start_time: time(span.start_time_unix_nano()),
                    end_time: time(span.end_time_unix_nano()),
                    link: span.link().map(|link| SpanLink {
                        trace_id: link.trace_id(),
                        span_id: link.span_id(),
                        is_remote: link.is_remote(),
                    }),
                }
            })
            .collect()
    }

    async fn send(&mut self, spans: &Vec<FinishedSpan>) -> Result<Sent, ExportError> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(spans);
        Ok(Sent::default())
    }
}

/// An attribute's value as text.
fn text(value: Value<'_>) -> String {
    match value {
        Value::Str(text) => text.to_owned(),
        Value::Int(number) => number.to_string(),
        Value::Double(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Id(id) => id.to_string(),
        Value::Decimal(number) => number.to_string(),
    }
}
