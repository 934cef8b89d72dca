//! The parent a segment takes from the span current here.

use crate::propagation::{ParentContext, RefKind};

impl ParentContext {
    /// The context current on this thread, as a cross-thread parent for another task or thread.
    pub(crate) fn capture() -> Option<ParentContext> {
        let current = super::current::get();
        if let Some(captured) = super::current::with_segment(|segment, span| Self::of(segment, span)) {
            return Some(captured);
        }
        // SAFETY: a non-null parent pointer is valid while installed (see `current`).
        (!current.parent.is_null()).then(|| unsafe { (*current.parent).clone() })
    }

    /// The span at index `span` of `segment`, as a cross-thread parent.
    pub(crate) fn of(segment: &super::Segment, span: u32) -> ParentContext {
        ParentContext {
            kind: RefKind::CrossThread,
            trace_id: segment.trace_id,
            span_id: segment.span_id(span),
            sampled: segment.sampled,
            flags: segment.flags,
            segment: Some((segment.id, span)),
            endpoint: Some(segment.endpoint.clone()),
            sw8: None,
            sent_at_ms: None,
            propagated: segment.propagated.clone(),
        }
    }
}
