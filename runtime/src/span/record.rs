//! The records a segment is made of, and the identity and errors of a span.

use std::borrow::Cow;
use std::fmt;

use crate::id::{SpanId, TraceId};
use crate::tag::TagValue;

/// What side of an interaction a span stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// Server side: handles a request that came from elsewhere (`#[entry]`; OpenTelemetry SERVER).
    Entry,
    /// Client side: a call to a remote peer (`#[exit]`; OpenTelemetry CLIENT).
    Exit,
    /// In-process work (`#[local]`; OpenTelemetry INTERNAL).
    Local,
}

/// The parent index of a span with no parent in its segment.
pub(crate) const NO_SPAN: u32 = u32::MAX;

/// One span, as recorded on the hot path. Times are raw clock ticks; `end == 0` means the span
/// has not ended. A segment is handed to the exporters with every span ended
/// ([`Segment::close_open_spans`](super::Segment::close_open_spans)).
#[derive(Debug, Clone)]
pub(crate) struct SpanRecord {
    pub name: Cow<'static, str>,
    pub start: u64,
    pub end: u64,
    pub parent: u32,
    pub kind: SpanKind,
    pub error: bool,
    /// Bytes allocated while the span was current, its children's included (see
    /// [`alloc`](crate::alloc)).
    pub allocated: u64,
}

/// A timestamped event on a span. Errors are logged as `exception` events with the
/// OpenTelemetry `exception.type` and `exception.message` fields.
#[derive(Debug, Clone)]
pub(crate) struct SpanLog {
    pub span: u32,
    pub tick: u64,
    pub name: Cow<'static, str>,
    pub fields: Vec<(&'static str, TagValue)>,
}

/// The identity of the current span, as seen from outside: what a log line or an outgoing
/// request needs to name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    /// The trace.
    pub trace_id: TraceId,
    /// The span (for an unsampled trace, the id that is propagated as the parent).
    pub span_id: SpanId,
    /// Whether the trace is being recorded.
    pub sampled: bool,
}

/// An error to record on a span: its type and its `Display` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    kind: Cow<'static, str>,
    message: String,
}

impl ErrorInfo {
    /// An error of type `kind` with `message`.
    pub fn new(kind: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self { kind: kind.into(), message: message.into() }
    }

    /// The error of a value of type `E`.
    pub fn of<E: fmt::Display + ?Sized>(error: &E) -> Self {
        Self::new(std::any::type_name::<E>(), error.to_string())
    }

    /// The error's type.
    pub(crate) fn kind(&self) -> &Cow<'static, str> {
        &self.kind
    }

    pub(crate) fn into_log(self, span: u32, tick: u64) -> SpanLog {
        SpanLog {
            span,
            tick,
            name: Cow::Borrowed("exception"),
            fields: vec![
                ("exception.type", TagValue::Str(self.kind)),
                ("exception.message", TagValue::Str(Cow::Owned(self.message))),
            ],
        }
    }
}
