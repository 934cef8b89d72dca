//! `spanscope::current()`: the active span, for code that wants to tag it, log to it or read
//! its ids.

use std::borrow::Cow;

use super::current::{with_segment, SegmentRef};
use super::{ErrorInfo, SpanContext, SpanLog};
use crate::tag::{TagKey, TagValueType};

/// The span current on this thread when [`current`] was called. Operations on it apply only
/// while that span's segment is still the one installed here (in the same task), and are
/// ignored otherwise or when nothing is recorded.
#[derive(Debug, Clone, Copy)]
pub struct SpanRef {
    target: Option<(SegmentRef, u32)>,
}

// SAFETY: a `SegmentRef` is dereferenced only on the thread its segment is installed on.
unsafe impl Send for SpanRef {}
// SAFETY: as above.
unsafe impl Sync for SpanRef {}

/// The span current on this thread.
pub fn current() -> SpanRef {
    SpanRef { target: with_segment(|segment, span| (SegmentRef::of(segment), span)) }
}

impl SpanRef {
    /// Runs `f` on the span's segment if it is still installed here; `f` must not run
    /// application code.
    fn with<R>(&self, f: impl FnOnce(&mut super::Segment, u32) -> R) -> Option<R> {
        let (segment, span) = self.target?;
        segment.with(|segment| f(segment, span))
    }

    /// The trace and span ids, if there is a current span.
    pub fn context(&self) -> Option<SpanContext> {
        self.with(|segment, span| segment.span_context(span))
    }

    /// The trace id, if there is a current span.
    pub fn trace_id(&self) -> Option<crate::TraceId> {
        self.context().map(|c| c.trace_id)
    }

    /// Whether the span is recorded.
    pub fn is_recording(&self) -> bool {
        self.with(|segment, _| segment.sampled).unwrap_or(false)
    }

    /// Sets a tag of the declared key `K`.
    pub fn tag<K: TagKey>(&self, value: K::Value) {
        if self.is_recording() {
            // Convert first: user code never runs while the segment is borrowed.
            let value = value.into_tag_value();
            self.with(|segment, span| segment.tags.push((span, K::meta(), value)));
        }
    }

    /// Logs a timestamped event on the span.
    pub fn log(&self, message: impl Into<Cow<'static, str>>) {
        if self.is_recording() {
            let name = message.into();
            let tick = crate::clock::now();
            self.with(|segment, span| segment.logs.push(SpanLog { span, tick, name, fields: Vec::new() }));
        }
    }

    /// Marks the span as failed with `error`, logged as an `exception` event.
    pub fn record_error(&self, error: ErrorInfo) {
        self.with(|segment, span| {
            if segment.sampled {
                segment.fail_span(span, crate::clock::now(), Some(error));
            }
        });
    }
}
