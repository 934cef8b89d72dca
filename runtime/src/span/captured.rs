//! `spanscope::capture()`: the current span context as a value, carried by hand to where the
//! work continues: a channel, a thread pool, a callback.

use std::future::Future;

use super::current;
use super::{ParentContext, SpanContext, WithContext};
use crate::propagation::Baggage;

/// The span context current where [`capture`] was called, to continue the trace on another
/// thread or in another task.
///
/// Spans opened in its [`scope`](Self::scope) or [`wrap`](Self::wrap)ped future begin segments
/// linked to the captured span by a cross-thread reference, and carry its trace's baggage and
/// propagated state. This stays inside the process: it needs no propagator and works whatever
/// `OTEL_PROPAGATORS` says. A context captured outside any span continues nothing: spans opened
/// in its scope begin new traces, as on a fresh thread.
///
/// ```no_run
/// use std::sync::mpsc;
///
/// #[spanscope::local]
/// fn handle(job: u64) -> u64 {
///     job * 2
/// }
///
/// let (jobs, inbox) = mpsc::channel::<(u64, spanscope::CapturedContext)>();
/// let worker = std::thread::spawn(move || {
///     for (job, context) in inbox {
///         context.scope(|| handle(job));
///     }
/// });
/// jobs.send((7, spanscope::capture())).unwrap();
/// drop(jobs);
/// worker.join().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct CapturedContext {
    parent: Option<ParentContext>,
}

/// The span context current on this thread (the current span, or the context installed by an
/// enclosing [`CapturedContext::scope`], [`RemoteContext::scope`](crate::RemoteContext::scope)
/// or wrapped future), as a value to send elsewhere.
pub fn capture() -> CapturedContext {
    CapturedContext { parent: ParentContext::capture() }
}

impl CapturedContext {
    /// Runs `f` in this context: spans it opens continue the captured trace, whatever was
    /// current on this thread before, which is current again after.
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        current::in_parent_scope(self.parent.as_ref(), f)
    }

    /// Runs `future` in this context wherever and whenever it is polled.
    pub fn wrap<F: Future>(self, future: F) -> WithContext<F> {
        WithContext::new(future, self.parent)
    }

    /// The captured span's ids; `None` when nothing was current at capture.
    pub fn span_context(&self) -> Option<SpanContext> {
        self.parent.as_ref().map(|p| SpanContext { trace_id: p.trace_id, span_id: p.span_id, sampled: p.sampled })
    }

    /// The baggage of the captured trace; `None` when nothing was current at capture.
    pub fn baggage(&self) -> Option<&Baggage> {
        self.parent.as_ref().map(|p| &p.propagated.baggage)
    }
}

/// Carrying the current span context into other futures.
pub trait FutureExt: Future + Sized {
    /// Runs this future in the context current here and now, wherever and whenever it is
    /// polled: spans it opens continue this trace, linked to the current span.
    fn in_current_span(self) -> WithContext<Self> {
        capture().wrap(self)
    }
}

impl<F: Future> FutureExt for F {}

#[cfg(test)]
mod tests {
    use super::CapturedContext;

    #[test]
    fn captured_context_crosses_threads() {
        fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
        assert_traits::<CapturedContext>();
    }
}
