//! The records a segment is made of.

use std::borrow::Cow;

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
