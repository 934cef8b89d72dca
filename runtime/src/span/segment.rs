//! The segment: the spans of one trace recorded by one task or thread.

use std::borrow::Cow;
use std::cell::Cell;

use super::record::{SpanKind, SpanLog, SpanRecord, NO_SPAN};
use super::{ParentContext, Propagated};
use crate::id::{SegmentId, SpanId, TraceId};
use crate::tag::{TagMeta, TagValue};

thread_local! {
    /// The last unsampled segment this thread finished, for reuse.
    static SPARE: Cell<Option<Box<Segment>>> = const { Cell::new(None) };
    /// The span, tag and peer counts of the last sampled segment this thread finished.
    static SIZES: Cell<(usize, usize, usize)> = const { Cell::new((8, 0, 0)) };
}

/// The bytes a span allocated, where a [`Profiled`](crate::alloc::Profiled) allocator counts
/// them: not a semantic convention (there is none), so in spanscope's namespace.
static ALLOCATED_BYTES: TagMeta = TagMeta::new("alloc_bytes", "spanscope.alloc.bytes");

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
    /// The segment's endpoint: the first span's name if it is an entry span, else the endpoint
    /// of the segment it continues, else the first span's name. It is SkyWalking's parent
    /// endpoint in `sw8` and what CPU samples are labelled with (`trace_endpoint`); fixed at
    /// creation, so the signal handler may read it.
    pub endpoint: Cow<'static, str>,
    /// Whether the CPU profiler was running when the segment began, so its samples can be
    /// found by its local root span's id (`pyroscope.profile.id`).
    pub profiled: bool,
}

impl Segment {
    /// A segment whose first span is `first`, started at `tick`, in a box: the last unsampled
    /// segment this thread finished if there is one (so unsampled requests do not allocate in
    /// steady state), else a new one whose buffers are sized like the thread's last sampled
    /// segment (so its spans do not reallocate them).
    pub(crate) fn boxed(
        trace_id: TraceId,
        sampled: bool,
        mut parent: Option<ParentContext>,
        first: Cow<'static, str>,
        kind: SpanKind,
        tick: u64,
        max_spans: u32,
    ) -> Box<Self> {
        let inherited = parent.as_ref().map_or(0, |p| p.flags);
        // An entry span names its own endpoint; only other segments look up the parent's (which
        // copies a remote caller's out of its `sw8`).
        let endpoint = match kind {
            SpanKind::Entry => first.clone(),
            _ => parent.as_ref().and_then(ParentContext::endpoint).unwrap_or_else(|| first.clone()),
        };
        let propagated = parent.as_mut().map(|p| std::mem::take(&mut p.propagated)).unwrap_or_default();
        let mut spare = if sampled { None } else { SPARE.with(Cell::take) };
        let (mut spans, tags, peers) = match &mut spare {
            Some(spare) => (std::mem::take(&mut spare.spans), Vec::new(), Vec::new()),
            None if sampled => {
                let (spans, tags, peers) = SIZES.with(Cell::get);
                (Vec::with_capacity(spans.max(8)), Vec::with_capacity(tags), Vec::with_capacity(peers))
            }
            None => (Vec::with_capacity(1), Vec::new(), Vec::new()),
        };
        // Unsampled segments keep their first span too: its name is the endpoint propagated
        // downstream, and it is the span the segment's ids derive from.
        spans.clear();
        spans.push(SpanRecord { name: first, start: tick, end: 0, parent: NO_SPAN, kind, error: false, allocated: 0 });
        let segment = Self {
            id: SegmentId::random(),
            trace_id,
            sampled,
            flags: (inherited & !FLAG_SAMPLED) | if sampled { FLAG_SAMPLED } else { 0 },
            parent,
            propagated,
            spans,
            tags,
            logs: Vec::new(),
            peers,
            dropped_spans: 0,
            max_spans,
            endpoint,
            profiled: crate::state::profiling(),
        };
        match spare {
            Some(mut spare) => {
                *spare = segment;
                spare
            }
            None => Box::new(segment),
        }
    }

    /// Keeps a finished unsampled segment for the next one on this thread.
    pub(crate) fn recycle(self: Box<Self>) {
        let _ = SPARE.try_with(|spare| spare.set(Some(self)));
    }

    /// Remembers a finished sampled segment's sizes for the next one on this thread.
    pub(crate) fn remember_sizes(&self) {
        let _ = SIZES.try_with(|sizes| sizes.set((self.spans.len(), self.tags.len(), self.peers.len())));
    }

    /// Starts a span under `parent`; `None` when the segment is full.
    #[inline]
    pub(crate) fn push_span(&mut self, name: Cow<'static, str>, kind: SpanKind, parent: u32, tick: u64) -> Option<u32> {
        let index = self.spans.len() as u32;
        if index >= self.max_spans {
            self.dropped_spans = self.dropped_spans.saturating_add(1);
            return None;
        }
        self.spans.push(SpanRecord { name, start: tick, end: 0, parent, kind, error: false, allocated: 0 });
        Some(index)
    }

    /// Ends a span. An error, if any, is flagged and logged. Where allocations are counted, the
    /// bytes it allocated become its `spanscope.alloc.bytes` attribute.
    #[inline]
    pub(crate) fn end_span(&mut self, index: u32, tick: u64, error: Option<super::ErrorInfo>) {
        if let Some(span) = self.spans.get_mut(index as usize) {
            span.end = tick;
            if crate::thread_allocations::in_use() {
                let allocated = TagValue::U64(span.allocated);
                self.tags.push((index, &ALLOCATED_BYTES, allocated));
            }
            if let Some(error) = error {
                self.fail_span(index, tick, Some(error));
            }
        }
    }

    /// Counts `bytes` as allocated by the span at `index`.
    #[inline]
    pub(crate) fn add_allocated(&mut self, index: u32, bytes: u64) {
        if let Some(span) = self.spans.get_mut(index as usize) {
            span.allocated = span.allocated.wrapping_add(bytes);
        }
    }

    /// Marks a span failed; `error`, if given, is logged on it as an `exception` event at `tick`.
    pub(crate) fn fail_span(&mut self, index: u32, tick: u64, error: Option<super::ErrorInfo>) {
        if let Some(span) = self.spans.get_mut(index as usize) {
            span.error = true;
            if let Some(error) = error {
                self.logs.push(error.into_log(index, tick));
            }
        }
    }

    /// The ids of the span at `index`, as seen from outside.
    pub(crate) fn span_context(&self, index: u32) -> super::SpanContext {
        super::SpanContext { trace_id: self.trace_id, span_id: self.span_id(index), sampled: self.sampled }
    }

    /// The span at `index` as a metric exemplar names it: its ids, and the segment's first span
    /// when the CPU profiler covers the segment (the `pyroscope.profile.id` of its samples).
    pub(crate) fn exemplar_identity(&self, index: u32) -> super::ExemplarIdentity {
        (self.trace_id, self.span_id(index), self.profiled.then(|| self.span_id(0)))
    }

    /// The 64-bit id of the span at `index`.
    pub(crate) fn span_id(&self, index: u32) -> SpanId {
        self.id.span_id(if index == NO_SPAN { 0 } else { index })
    }

    /// The parent of the span at `index`: its parent in the segment, or for the first span the
    /// span the segment continues; and whether that parent is in another process.
    pub(crate) fn parent_of(&self, index: u32) -> Option<(SpanId, bool)> {
        match (self.spans.get(index as usize)?.parent, &self.parent) {
            (NO_SPAN, Some(parent)) => Some((parent.span_id, parent.kind == super::RefKind::CrossProcess)),
            (NO_SPAN, None) => None,
            (parent, _) => Some((self.span_id(parent), false)),
        }
    }

    /// The index of the span whose id is `span_id`, trying `hint` (usually the current span)
    /// first: how a span named by its ids alone (an OpenTelemetry parent) is found again.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn index_of(&self, span_id: SpanId, hint: u32) -> Option<u32> {
        if (hint as usize) < self.spans.len() && self.span_id(hint) == span_id {
            return Some(hint);
        }
        (0..self.spans.len() as u32).rev().find(|&index| self.span_id(index) == span_id)
    }

    /// The remote address recorded for an exit span. Peers are recorded in span order.
    pub(crate) fn peer(&self, index: u32) -> Option<&str> {
        let position = self.peers.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        Some(&self.peers[position].1)
    }

    /// Ends spans still open when the segment ends (their futures were dropped elsewhere) at
    /// the segment's end, so every exporter sees the same times.
    pub(crate) fn close_open_spans(&mut self) {
        let end = self.spans[0].end;
        for span in &mut self.spans[1..] {
            if span.end == 0 {
                span.end = end;
            }
        }
    }
}
