//! The OpenTelemetry bridge (feature `opentelemetry`): OpenTelemetry-instrumented code parents
//! its spans on spanscope's, and spans started through the OpenTelemetry API are recorded by
//! spanscope and reported by its exporters. Only the `opentelemetry` API crate is used, never
//! the SDK.
//!
//! ```no_run
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//!
//! #[spanscope::main(service = "checkout")]
//! fn main() {
//!     // The global tracer provider and text-map propagator become spanscope's.
//!     spanscope::opentelemetry::install();
//!     handle();
//! }
//!
//! #[spanscope::entry]
//! fn handle() {
//!     // Recorded as a child of `handle`, exported with it.
//!     opentelemetry::global::tracer("lib").in_span("query", |_cx| {});
//! }
//! ```
//!
//! # Parents
//! A span started through [`Tracer`] hangs under the active span of the OpenTelemetry
//! context it is started with (`Context::current()` for `start`/`in_span`):
//! - none: under the current spanscope span, which is what makes OpenTelemetry-instrumented
//!   libraries called inside spanscope spans parent their spans with no glue; with no current
//!   span it begins a segment of a new trace (or of the cross-thread context installed here);
//! - a span of the segment installed on this thread (one of ours, or [`context()`]): under it,
//!   in that segment;
//! - any other span context: the span begins a segment continuing it, cross-process if the
//!   context is remote (extracted from a request), cross-thread otherwise.
//!
//! spanscope's own spans follow spanscope's current span, not OpenTelemetry's context: a
//! `#[local]` function called inside `tracer.in_span(..)` (where the OpenTelemetry span is
//! attached to the context but cannot be entered in spanscope) nests under the enclosing
//! spanscope span, beside the OpenTelemetry span. A span started through the API outside any
//! spanscope span owns a segment of its own, and so do its OpenTelemetry children.
//!
//! # What becomes what
//! Kinds: server and consumer spans are entry spans, client and producer spans exit spans
//! (their peer is `server.address` with `:server.port`, else `net.peer.name` with `:net.peer.port`,
//! else `peer.service`), internal spans local spans. Attributes become tags (keys interned,
//! bounded: see [`Stats::tag_keys_over_limit`](crate::Stats)), events become logs with their
//! attributes as fields (`record_error` gives an `exception` log), `set_status(Error)` fails the
//! span with its description as an `exception` log (hence its status message); `Ok` cannot
//! clear a failure. `update_name` renames the span. Links are not recorded (a segment has one
//! link: its parent). Times are spanscope's clock ticks, read when the span starts or ends and
//! when an event is added: explicit start, end and event timestamps are ignored.
//!
//! An OpenTelemetry span is `Send + Sync` and may be ended on another thread: a span inside a
//! segment owned elsewhere is changed and ended only from the thread that segment is installed
//! on, and is otherwise closed when its segment ends; a span owning its segment hands it to the
//! exporters wherever it ends.

mod propagator;
mod span;

use std::borrow::Cow;

use opentelemetry::trace::{self as otel, TraceContextExt as _};
use opentelemetry::{Context, InstrumentationScope};

use crate::id::{SpanId, TraceId};
use crate::span::current;
use crate::span::{Parent, ParentContext, Propagated, RefKind, SpanKind};

pub use propagator::{OtelExtractor, OtelInjector, SpanscopePropagator};
pub use span::Span;

/// The current spanscope span as an OpenTelemetry [`Context`]: [`Context::current`] with a
/// span context carrying our trace id, span id, sampled flag and forwarded W3C `tracestate`
/// (not remote). With no current span (nor cross-thread context installed here), the current
/// OpenTelemetry context as it is. Hand it to OpenTelemetry-instrumented code that takes an
/// explicit parent.
pub fn context() -> Context {
    let cx = Context::current();
    match ParentContext::capture() {
        Some(parent) => cx.with_remote_span_context(span_context(&parent)),
        None => cx,
    }
}

/// Makes spanscope OpenTelemetry's global tracer provider ([`TracerProvider`]) and global
/// text-map propagator ([`SpanscopePropagator`](crate::SpanscopePropagator) with the
/// configured formats): call it after [`init`](crate::init), once.
pub fn install() {
    opentelemetry::global::set_tracer_provider(TracerProvider::default());
    opentelemetry::global::set_text_map_propagator(crate::SpanscopePropagator::default());
}

/// spanscope as an OpenTelemetry tracer provider: its tracers' spans are recorded by spanscope.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracerProvider {
    _private: (),
}

impl otel::TracerProvider for TracerProvider {
    type Tracer = Tracer;

    /// A tracer; the scope is not recorded (spanscope reports one instrumentation scope).
    fn tracer_with_scope(&self, _scope: InstrumentationScope) -> Tracer {
        Tracer { _private: () }
    }
}

/// An OpenTelemetry tracer whose spans are spanscope spans (see the [module](self) for where
/// they hang and what is recorded).
#[derive(Debug, Clone, Copy)]
pub struct Tracer {
    _private: (),
}

impl otel::Tracer for Tracer {
    type Span = Span;

    fn build_with_context(&self, builder: otel::SpanBuilder, parent_cx: &Context) -> Span {
        let kind = match builder.span_kind {
            Some(otel::SpanKind::Server | otel::SpanKind::Consumer) => SpanKind::Entry,
            Some(otel::SpanKind::Client | otel::SpanKind::Producer) => SpanKind::Exit,
            _ => SpanKind::Local,
        };
        let parent_span = parent_cx.has_active_span().then(|| parent_cx.span().span_context().clone());
        let parent = parent_span.as_ref().map_or(Parent::Current, parent_of);
        let inner = crate::span::Span::start_named(builder.name, kind, parent);
        Span::new(inner, kind, builder.attributes, builder.events, parent_span)
    }
}

/// Where a span under the OpenTelemetry span context `parent` hangs.
fn parent_of(parent: &otel::SpanContext) -> Parent {
    let (Some(trace_id), Some(span_id)) = ids(parent) else {
        return Parent::Current;
    };
    let local = current::with_segment(|segment, current| {
        (segment.trace_id == trace_id).then(|| segment.index_of(span_id, current)).flatten()
    });
    match local.flatten() {
        Some(index) => Parent::InSegment(index),
        None => {
            let state = parent.trace_state().header();
            Parent::Context(ParentContext {
                kind: if parent.is_remote() { RefKind::CrossProcess } else { RefKind::CrossThread },
                trace_id,
                span_id,
                sampled: parent.is_sampled(),
                flags: parent.trace_flags().to_u8(),
                segment: None,
                endpoint: None,
                sw8: None,
                sent_at_ms: None,
                propagated: Propagated { trace_state: (!state.is_empty()).then_some(state), ..Propagated::default() },
            })
        }
    }
}

/// The ids of an OpenTelemetry span context; `None` for the invalid (zero) ones.
fn ids(context: &otel::SpanContext) -> (Option<TraceId>, Option<SpanId>) {
    (
        TraceId::from_int(u128::from_be_bytes(context.trace_id().to_bytes())),
        SpanId::from_int(u64::from_be_bytes(context.span_id().to_bytes())),
    )
}

/// A span of ours (or the context it continues) as an OpenTelemetry span context.
fn span_context(parent: &ParentContext) -> otel::SpanContext {
    let trace_state = otel_trace_state(parent.propagated.trace_state.as_deref());
    local_span_context(parent.trace_id, parent.span_id, parent.sampled, parent.flags, trace_state)
}

/// A `tracestate` header as OpenTelemetry's (empty if there is none, or it does not parse).
fn otel_trace_state(header: Option<&str>) -> otel::TraceState {
    header.and_then(|state| state.parse().ok()).unwrap_or_default()
}

/// The W3C flags and `tracestate` the current segment carries on, if it is in `trace_id`'s
/// trace: what a span started under the current span carries on.
fn continued(trace_id: TraceId) -> (u8, otel::TraceState) {
    let carried = current::with_segment(|segment, _| {
        (segment.trace_id == trace_id).then(|| (segment.flags, segment.propagated.trace_state.clone()))
    });
    // Parsed outside the segment's borrow, which runs no code but ours.
    let Some((flags, header)) = carried.flatten() else { return (0, otel::TraceState::default()) };
    (flags, otel_trace_state(header.as_deref()))
}

/// An OpenTelemetry span context for our ids, in this process.
fn local_span_context(
    trace_id: TraceId,
    span_id: SpanId,
    sampled: bool,
    flags: u8,
    trace_state: otel::TraceState,
) -> otel::SpanContext {
    let flags = otel::TraceFlags::new(flags).with_sampled(sampled);
    otel::SpanContext::new(
        otel::TraceId::from_bytes(trace_id.to_int().to_be_bytes()),
        otel::SpanId::from_bytes(span_id.to_int().to_be_bytes()),
        flags,
        false,
        trace_state,
    )
}

/// An OpenTelemetry attribute value as a tag value.
fn tag_value(value: opentelemetry::Value) -> crate::TagValue {
    match value {
        opentelemetry::Value::Bool(value) => crate::TagValue::Bool(value),
        opentelemetry::Value::I64(value) => crate::TagValue::I64(value),
        opentelemetry::Value::F64(value) => crate::TagValue::F64(value),
        opentelemetry::Value::String(value) => crate::TagValue::Str(Cow::Owned(value.into())),
        other => crate::TagValue::Str(Cow::Owned(other.to_string())),
    }
}
