//! Which sampled span a CPU sample was taken in: the identity the signal handler copies from
//! the interrupted thread.
//!
//! The handler never dereferences a segment: it copies the identity `span::current` publishes
//! in its own thread-local whenever the installed segment changes (ids, and the endpoint's
//! bytes, which stay alive until a new identity is published).

use crate::id::{SegmentId, SpanId, TraceId};

/// Endpoint bytes a snapshot holds at most; longer names are cut.
const ENDPOINT_BYTES: usize = 128;

/// The span identity of one sample.
#[derive(Clone, Copy)]
pub(crate) struct SpanSnapshot {
    /// The segment whose local root span is profiled, with its trace; `None` outside a
    /// sampled segment.
    ids: Option<(SegmentId, TraceId)>,
    endpoint_len: usize,
    endpoint: [u8; ENDPOINT_BYTES],
}

/// The labels a span identity puts on a sample.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SpanLabels {
    pub span_id: SpanId,
    pub trace_id: TraceId,
    pub endpoint: String,
}

impl SpanSnapshot {
    pub(crate) const EMPTY: Self = Self { ids: None, endpoint_len: 0, endpoint: [0; ENDPOINT_BYTES] };

    /// Copies the identity of the sampled segment installed on this thread, if any.
    /// Signal-safe: a thread-local read and plain copies.
    pub(crate) fn capture(&mut self) {
        self.ids = None;
        self.endpoint_len = 0;
        let identity = crate::span::identity();
        let (Some(segment), Some(trace_id)) = (SegmentId::from_int(identity.segment), TraceId::from_int(identity.trace_id))
        else {
            return;
        };
        let len = identity.endpoint_len.min(ENDPOINT_BYTES);
        // SAFETY: a published identity's endpoint bytes belong to the installed segment, which
        // stays alive until after a new identity is published (see `span::current`).
        let endpoint = unsafe { std::slice::from_raw_parts(identity.endpoint, len) };
        self.endpoint[..len].copy_from_slice(endpoint);
        self.endpoint_len = len;
        self.ids = Some((segment, trace_id));
    }

    /// The labels: the local root span's id, the trace id, and the endpoint (its longest valid
    /// UTF-8 prefix if it was cut).
    pub(crate) fn labels(&self) -> Option<SpanLabels> {
        let (segment, trace_id) = self.ids?;
        let bytes = &self.endpoint[..self.endpoint_len];
        let endpoint = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        };
        Some(SpanLabels { span_id: segment.span_id(0), trace_id, endpoint: endpoint.to_owned() })
    }
}
