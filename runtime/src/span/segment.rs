//! The segment: the spans of one trace recorded by one task or thread.

use std::borrow::Cow;

use super::record::{SpanKind, SpanLog, SpanRecord, NO_SPAN};
use super::{ParentContext, Propagated};
use crate::id::{SegmentId, SpanId, TraceId};
use crate::tag::{TagMeta, TagValue};

/// W3C trace flag: the trace is sampled.
pub(crate) const FLAG_SAMPLED: u8 = 0x01;

/// A segment under construction, then on its way to the exporters.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub id: SegmentId,
    pub trace_id: TraceId,
    pub sampled: bool,
    /// W3C flags propagated downstream (the sampled bit is kept equal to `sampled`).
    pub flags: u8,
    pub parent: Option<ParentContext>,
    /// What the trace carries along, inherited from the parent and changed here (baggage).
    pub propagated: Propagated,
    /// Spans in start order; index 0 is the segment's first span.
    pub spans: Vec<SpanRecord>,
    pub tags: Vec<(u32, &'static TagMeta, TagValue)>,
    pub logs: Vec<SpanLog>,
    /// Remote addresses of exit spans.
    pub peers: Vec<(u32, Cow<'static, str>)>,
    /// Spans not recorded because the segment was full.
    pub dropped_spans: u32,
    max_spans: u32,
    /// The endpoint CPU samples taken in this segment are labelled with (`trace_endpoint`): the
    /// first span's name if it is an entry span, else the endpoint of the segment it continues,
    /// else the first span's name. Fixed at creation: the profiler's signal handler reads it.
    pub trace_endpoint: Cow<'static, str>,
    /// Whether the CPU profiler was running when the segment began, so its samples can be
    /// found by its local root span's id (`pyroscope.profile.id`).
    pub profiled: bool,
}

impl Segment {
    /// A segment whose first span is `first`, started at `tick`.
    pub(crate) fn new(
        trace_id: TraceId,
        sampled: bool,
        mut parent: Option<ParentContext>,
        first: &'static str,
        kind: SpanKind,
        tick: u64,
        max_spans: u32,
    ) -> Self {
        let inherited = parent.as_ref().map_or(0, |p| p.flags);
        let trace_endpoint = match (kind, parent.as_ref().and_then(|p| p.endpoint.as_ref())) {
            (SpanKind::Entry, _) | (_, None) => Cow::Borrowed(first),
            (_, Some(endpoint)) => endpoint.clone(),
        };
        let propagated = parent.as_mut().map(|p| std::mem::take(&mut p.propagated)).unwrap_or_default();
        let mut spans = Vec::with_capacity(if sampled { 8 } else { 1 });
        // Unsampled segments keep their first span too: its name is the endpoint propagated
        // downstream, and it is the span the segment's ids derive from.
        spans.push(SpanRecord { name: Cow::Borrowed(first), start: tick, end: 0, parent: NO_SPAN, kind, error: false });
        Self {
            id: SegmentId::random(),
            trace_id,
            sampled,
            flags: (inherited & !FLAG_SAMPLED) | if sampled { FLAG_SAMPLED } else { 0 },
            parent,
            propagated,
            spans,
            tags: Vec::new(),
            logs: Vec::new(),
            peers: Vec::new(),
            dropped_spans: 0,
            max_spans,
            trace_endpoint,
            profiled: crate::profiler::is_running(),
        }
    }

    /// Starts a span under `parent`; `None` when the segment is full.
    #[inline]
    pub(crate) fn push_span(&mut self, name: &'static str, kind: SpanKind, parent: u32, tick: u64) -> Option<u32> {
        let index = self.spans.len() as u32;
        if index >= self.max_spans {
            self.dropped_spans = self.dropped_spans.saturating_add(1);
            return None;
        }
        self.spans.push(SpanRecord { name: Cow::Borrowed(name), start: tick, end: 0, parent, kind, error: false });
        Some(index)
    }

    /// Ends a span. An error, if any, is flagged and logged.
    #[inline]
    pub(crate) fn end_span(&mut self, index: u32, tick: u64, error: Option<super::ErrorInfo>) {
        if let Some(span) = self.spans.get_mut(index as usize) {
            span.end = tick;
            if let Some(error) = error {
                span.error = true;
                self.logs.push(error.into_log(index, tick));
            }
        }
    }

    /// The 64-bit id of the span at `index`.
    pub(crate) fn span_id(&self, index: u32) -> SpanId {
        self.id.span_id(if index == NO_SPAN { 0 } else { index })
    }

    /// The name SkyWalking calls this segment's endpoint: its first entry span's; in a segment
    /// without one, the endpoint of the segment it continues on this process, else its first
    /// span's.
    pub(crate) fn endpoint(&self) -> &Cow<'static, str> {
        if let Some(entry) = self.spans.iter().find(|s| s.kind == SpanKind::Entry) {
            return &entry.name;
        }
        self.parent.as_ref().and_then(|p| p.endpoint.as_ref()).unwrap_or(&self.spans[0].name)
    }

    /// The remote address recorded for an exit span.
    pub(crate) fn peer(&self, index: u32) -> Option<&str> {
        self.peers.iter().find(|(i, _)| *i == index).map(|(_, p)| p.as_ref())
    }
}
