//! `spanscope::extract` and `spanscope::inject`: propagation for code that cannot use the
//! macros' `headers` and `inject` arguments.

use std::future::Future;

use super::{current, WithContext};
use crate::id::{SpanId, TraceId};
use crate::propagation::{self, Baggage, Extractor, Injector, ParentContext, Propagator};

/// A caller's context, read from an incoming request by [`extract`]. Spans opened in its
/// [`scope`](Self::scope) or [`wrap`](Self::wrap)ped future continue the caller's trace.
#[derive(Debug, Clone)]
pub struct RemoteContext {
    parent: ParentContext,
}

/// Reads the caller's context from `carrier` with the configured propagators. `None` when the
/// request carries no valid context (malformed headers are counted in [`stats`](crate::stats)).
pub fn extract<C: Extractor + ?Sized>(carrier: &C) -> Option<RemoteContext> {
    propagation::extract_parent(carrier).map(|parent| RemoteContext { parent })
}

/// Reads the caller's context from `carrier` with `propagators`, in their order.
pub fn extract_with<C: Extractor + ?Sized>(propagators: &[Propagator], carrier: &C) -> Option<RemoteContext> {
    propagation::extract_parent_with(propagators, carrier).map(|parent| RemoteContext { parent })
}

/// Writes the current span's context into `carrier` with the configured propagators. Returns
/// whether there was a span to propagate.
pub fn inject<C: Injector + ?Sized>(carrier: &mut C) -> bool {
    inject_with(propagation::configured(), carrier)
}

/// Writes the current span's context into `carrier` with `propagators`.
pub fn inject_with<C: Injector + ?Sized>(propagators: &[Propagator], carrier: &mut C) -> bool {
    let headers = current::with_segment(|segment, span| super::headers::headers_with(propagators, segment, span));
    headers.map(|headers| headers.write_to(carrier)).is_some()
}

impl RemoteContext {
    /// The caller's trace.
    pub fn trace_id(&self) -> TraceId {
        self.parent.trace_id
    }

    /// The caller's span.
    pub fn span_id(&self) -> SpanId {
        self.parent.span_id
    }

    /// Whether the caller records the trace.
    pub fn is_sampled(&self) -> bool {
        self.parent.sampled
    }

    /// The baggage that came with the request.
    pub fn baggage(&self) -> &Baggage {
        &self.parent.propagated.baggage
    }

    /// Runs `f` in this context: the spans it opens begin segments that continue the caller's
    /// trace, whatever span was current here before.
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        current::in_parent_scope(Some(&self.parent), f)
    }

    /// Runs `future` in this context wherever it is polled.
    pub fn wrap<F: Future>(self, future: F) -> WithContext<F> {
        WithContext::new(future, Some(self.parent))
    }
}
