//! Which sampled span a CPU sample was taken in: the identity the signal handler copies from
//! the segment installed on the interrupted thread.
//!
//! Only fields a segment never changes after creation are read (`id`, `trace_id`, `sampled`,
//! `trace_endpoint`), through the raw pointer the thread-local current context holds; the
//! context is written with compiler fences around it (see `span::current`), so a signal that
//! lands mid-update sees either the old segment, alive until after the store, or the new one,
//! complete before it. This must never read a field the owning thread may be writing.

use std::borrow::Cow;

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
        let segment = crate::span::installed_segment();
        if segment.is_null() {
            return;
        }
        // SAFETY: an installed segment is alive until after it is uninstalled (the store is
        // fenced before the segment is freed or handed over), and the fields read here are
        // written once, before the segment is installed (fenced too), and never again.
        let (sampled, id, trace_id, endpoint) = unsafe {
            let segment = &*segment;
            let endpoint: &str = match &segment.trace_endpoint {
                Cow::Borrowed(name) => name,
                Cow::Owned(name) => name.as_str(),
            };
            (segment.sampled, segment.id, segment.trace_id, endpoint)
        };
        if !sampled {
            return;
        }
        let len = endpoint.len().min(ENDPOINT_BYTES);
        self.endpoint[..len].copy_from_slice(&endpoint.as_bytes()[..len]);
        self.endpoint_len = len;
        self.ids = Some((id, trace_id));
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
