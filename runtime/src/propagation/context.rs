//! The context a segment continues, as the formats read it from a caller and write it for a
//! callee: a span in another process or on another thread, and what travels with a trace.

use std::borrow::Cow;
use std::sync::Arc;

use crate::id::{SegmentId, SpanId, TraceId};

/// How a segment is linked to its parent (SkyWalking's `RefType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// The parent is in another process; the context came in a header.
    CrossProcess,
    /// The parent is in this process, on another thread or task.
    CrossThread,
}

/// Where a new segment continues a trace from: the parent span, and what the trace carries.
#[derive(Debug, Clone)]
pub(crate) struct ParentContext {
    pub kind: RefKind,
    pub trace_id: TraceId,
    /// The parent span's 64-bit id.
    pub span_id: SpanId,
    pub sampled: bool,
    /// W3C trace flags to forward (the random-trace-id bit and others we do not interpret).
    pub flags: u8,
    /// The parent's segment and span index, when known (always for cross-thread parents).
    pub segment: Option<(SegmentId, u32)>,
    /// The name of the first entry span of the parent's segment (SkyWalking's parent endpoint),
    /// for a parent in this process; a remote one's is in `sw8`.
    pub endpoint: Option<Cow<'static, str>>,
    /// The fields of an incoming `sw8` header that name the parent in the caller's terms.
    pub sw8: Option<Box<Sw8Parent>>,
    /// When the caller sent the request, in Unix milliseconds (`sw8-x`), for
    /// `transmission.latency`.
    pub sent_at_ms: Option<u64>,
    /// What the trace carries along.
    pub propagated: Propagated,
}

/// What travels with a trace from segment to segment, in and out of the process, and is
/// forwarded on every outgoing request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Propagated {
    /// W3C `tracestate` members from upstream, validated, our own member excluded.
    pub trace_state: Option<String>,
    /// The trace id as SkyWalking spells it, when it is not our hex trace id (Java and Go
    /// agents write `<hex>.<n>.<n>`); kept verbatim for SkyWalking reporting.
    pub sw_trace_id: Option<Arc<str>>,
    /// `sw8-x` tracing mode 1: spans of this trace are not analysed by the SkyWalking backend.
    pub skip_analysis: bool,
    /// Datadog's propagated state.
    pub datadog: Option<Box<DatadogState>>,
    /// W3C baggage and SkyWalking correlation entries.
    pub baggage: super::Baggage,
}

/// Datadog's propagated state, forwarded as it came.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DatadogState {
    /// `x-datadog-sampling-priority`: -1 user reject, 0 auto reject, 1 auto keep, 2 user keep.
    pub priority: Option<i8>,
    /// `x-datadog-origin`.
    pub origin: Option<String>,
    /// `_dd.p.*` tags other than `_dd.p.tid`, comma-joined.
    pub tags: Option<String>,
}

/// A caller's identity as `sw8` gives it (SkyWalking cross-process propagation, fields 3–8),
/// decoded into one buffer: a header read is one allocation, not five.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sw8Parent {
    /// The text fields one after another: segment id, service, instance, endpoint, peer.
    text: String,
    /// Where each of them ends in `text`.
    ends: [u32; 5],
    pub span_index: i32,
}

impl Sw8Parent {
    /// The fields given in that order, each ending where `ends` says in `text`.
    pub(crate) fn from_parts(text: String, ends: [u32; 5], span_index: i32) -> Self {
        debug_assert!(ends.is_sorted() && ends[4] as usize == text.len());
        Self { text, ends, span_index }
    }

    #[cfg(test)]
    pub(crate) fn new(fields: [&str; 5], span_index: i32) -> Self {
        let mut text = String::new();
        let ends = fields.map(|field| {
            text.push_str(field);
            text.len() as u32
        });
        Self::from_parts(text, ends, span_index)
    }

    fn field(&self, n: usize) -> &str {
        let start = if n == 0 { 0 } else { self.ends[n - 1] as usize };
        self.text.get(start..self.ends[n] as usize).unwrap_or_default()
    }

    /// The caller's segment.
    pub(crate) fn segment_id(&self) -> &str {
        self.field(0)
    }

    pub(crate) fn service(&self) -> &str {
        self.field(1)
    }

    pub(crate) fn instance(&self) -> &str {
        self.field(2)
    }

    /// The caller's first entry span's name.
    pub(crate) fn endpoint(&self) -> &str {
        self.field(3)
    }

    /// The address the caller used to reach us (its exit span's peer).
    pub(crate) fn peer(&self) -> &str {
        self.field(4)
    }
}

impl ParentContext {
    /// The parent segment's endpoint, as far as it is known.
    pub(crate) fn endpoint(&self) -> Option<Cow<'static, str>> {
        let remote = || self.sw8.as_ref().map(|sw8| Cow::Owned(sw8.endpoint().to_owned()));
        self.endpoint.clone().or_else(remote)
    }

    /// A sampled parent known only by its ids (as a carrier or an OpenTelemetry context gives
    /// it), for tests of what consumes segments.
    #[cfg(test)]
    pub(crate) fn by_ids(kind: RefKind, trace_id: TraceId, span_id: SpanId) -> ParentContext {
        ParentContext {
            kind,
            trace_id,
            span_id,
            sampled: true,
            flags: 1,
            segment: None,
            endpoint: None,
            sw8: None,
            sent_at_ms: None,
            propagated: Propagated::default(),
        }
    }
}
