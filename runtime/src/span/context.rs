//! The context a segment continues: a span in another process or on another thread.

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

/// Where a new segment continues a trace from.
#[derive(Debug, Clone)]
pub(crate) struct ParentContext {
    pub kind: RefKind,
    pub trace_id: TraceId,
    /// The parent span's 64-bit id.
    pub span_id: SpanId,
    pub sampled: bool,
    /// W3C trace flags to forward (the random-trace-id bit and others we do not interpret).
    pub flags: u8,
    /// W3C `tracestate` to forward, already validated.
    pub trace_state: Option<String>,
    /// The parent's segment and span index, when known (always for cross-thread parents).
    pub segment: Option<(SegmentId, u32)>,
    /// The name of the first entry span of the parent's segment (SkyWalking's parent endpoint).
    pub endpoint: Option<Cow<'static, str>>,
    /// The trace id as SkyWalking spells it, when it is not our hex trace id (Java and Go
    /// agents write `<hex>.<n>.<n>`); kept verbatim for SkyWalking reporting and carried to
    /// every segment of the trace in this process.
    pub sw_trace_id: Option<Arc<str>>,
    /// The fields of an incoming `sw8` header that name the parent in the caller's terms.
    pub sw8: Option<Box<Sw8Parent>>,
}

/// A caller's identity as `sw8` gives it (SkyWalking cross-process propagation, fields 3–8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sw8Parent {
    pub segment_id: String,
    pub span_index: i32,
    pub service: String,
    pub instance: String,
    /// The caller's first entry span's name.
    pub endpoint: String,
    /// The address the caller used to reach us (its exit span's peer).
    pub peer: String,
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

impl ParentContext {
    /// The context current on this thread, as a cross-thread parent for another task or thread.
    pub(crate) fn capture() -> Option<ParentContext> {
        let current = super::current::get();
        if let Some(captured) = super::current::with_segment(|segment, span| ParentContext {
            kind: RefKind::CrossThread,
            trace_id: segment.trace_id,
            span_id: segment.span_id(span),
            sampled: segment.sampled,
            flags: segment.flags,
            trace_state: segment.parent.as_ref().and_then(|p| p.trace_state.clone()),
            segment: Some((segment.id, span)),
            endpoint: Some(segment.endpoint().clone()),
            sw_trace_id: segment.parent.as_ref().and_then(|p| p.sw_trace_id.clone()),
            sw8: None,
        }) {
            return Some(captured);
        }
        // SAFETY: a non-null parent pointer is valid while installed (see `current`).
        (!current.parent.is_null()).then(|| unsafe { (*current.parent).clone() })
    }
}
