//! `spanscope.span.duration`: how long each `#[entry]` and `#[exit]` function took (and each
//! `#[local(metrics = true)]` one), sampled or not, by span name and kind, with `error.type`
//! when it failed: the body's `Err` type, `panic`, or `cancelled` for a future dropped before it
//! completed. The kinds are written as OpenTelemetry's span-metrics connector writes them
//! (`SPAN_KIND_SERVER`, `SPAN_KIND_CLIENT`, `SPAN_KIND_INTERNAL`), so dashboards made for it
//! read these too. The exemplar is the span itself, when sampled.
//!
//! The macros call [`SpanTimer::start`] before the span starts and [`SpanTimer::finish`]
//! where it ends; with metrics off, starting is one relaxed load.

use std::borrow::Cow;

use crate::clock;
use crate::metrics::exemplar::Identity;
use crate::metrics::{
    registry, AttrRef, AttrValue, AttributeSet, Histogram, InstrumentKind, InstrumentMeta, ValueKind,
};
use crate::span::handle::{Span, SpanMeta, SyncSpan};
use crate::span::{ErrorInfo, SpanKind};
use crate::tag::TagMeta;

static DURATION_META: InstrumentMeta = InstrumentMeta {
    name: "spanscope.span.duration",
    unit: "s",
    description: "Duration of instrumented functions, by span name and kind.",
    kind: InstrumentKind::Histogram,
    value: ValueKind::F64,
    scope: ("spanscope", env!("CARGO_PKG_VERSION")),
    buckets: &[0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
};
static DURATION: Histogram<f64> = Histogram::new(&DURATION_META);

static SPAN_NAME: TagMeta = TagMeta::new("span_name", "span.name");
static SPAN_KIND: TagMeta = TagMeta::new("span_kind", "span.kind");
static ERROR_TYPE: TagMeta = TagMeta::new("error_type", "error.type");

struct SpanAttributes {
    name: &'static str,
    kind: &'static str,
    error_type: Option<Cow<'static, str>>,
}

impl AttributeSet for SpanAttributes {
    const KEYS: &'static [fn() -> &'static TagMeta] = &[|| &SPAN_NAME, || &SPAN_KIND, || &ERROR_TYPE];
    #[inline]
    fn visit(&self, mut f: impl FnMut(AttrRef<'_>)) {
        f(self.name.attr_ref());
        f(self.kind.attr_ref());
        f(self.error_type.as_deref().attr_ref());
    }
}

/// A span handle whose end the timer records: a sync function's guard or an async one's span.
pub trait TimedSpan {
    #[doc(hidden)]
    /// Ends the span with the error `error` gives (run only if the span records).
    fn end(self, error: impl FnOnce() -> Option<ErrorInfo>);
    #[doc(hidden)]
    fn identity(&self) -> Option<Identity>;
}

impl TimedSpan for SyncSpan {
    #[inline(always)]
    fn end(self, error: impl FnOnce() -> Option<ErrorInfo>) {
        self.finish(error);
    }
    fn identity(&self) -> Option<Identity> {
        self.exemplar_identity()
    }
}

impl TimedSpan for Span {
    #[inline(always)]
    fn end(self, error: impl FnOnce() -> Option<ErrorInfo>) {
        self.finish(error);
    }
    fn identity(&self) -> Option<Identity> {
        self.exemplar_identity()
    }
}

/// The timing of one call of an instrumented function. Dropped without [`finish`](Self::finish)
/// (the body panicked, or its future was dropped), it records the call as failed.
#[derive(Debug)]
pub struct SpanTimer {
    meta: &'static SpanMeta,
    start: u64,
}

impl SpanTimer {
    /// Starts timing a call of `meta`'s function; `None` when metrics are off.
    #[inline(always)]
    pub fn start(meta: &'static SpanMeta) -> Option<SpanTimer> {
        registry::enabled().then(|| SpanTimer { meta, start: clock::now() })
    }

    /// Ends `span` with the error `error` gives, and records the call's duration. `error` runs
    /// only when the span records or the call is timed.
    #[inline(always)]
    pub fn finish<S: TimedSpan>(timer: Option<SpanTimer>, span: S, error: impl FnOnce() -> Option<ErrorInfo>) {
        match timer {
            None => span.end(error),
            Some(timer) => timer.record(span, error()),
        }
    }

    #[inline(never)]
    fn record<S: TimedSpan>(self, span: S, error: Option<ErrorInfo>) {
        let error_type = error.as_ref().map(|error| error.kind().clone());
        self.observe(error_type, span.identity());
        span.end(|| error);
        std::mem::forget(self);
    }

    fn observe(&self, error_type: Option<Cow<'static, str>>, identity: Option<Identity>) {
        let kind = match self.meta.kind() {
            SpanKind::Entry => "SPAN_KIND_SERVER",
            SpanKind::Exit => "SPAN_KIND_CLIENT",
            SpanKind::Local => "SPAN_KIND_INTERNAL",
        };
        let attributes = SpanAttributes { name: self.meta.name(), kind, error_type };
        DURATION.record_for(clock::seconds_between(self.start, clock::now()), &attributes, identity);
    }
}

impl Drop for SpanTimer {
    fn drop(&mut self) {
        let error_type = if std::thread::panicking() { "panic" } else { "cancelled" };
        self.observe(Some(Cow::Borrowed(error_type)), None);
    }
}
