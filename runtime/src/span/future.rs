//! Futures that carry span context across polls, tasks and threads.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::current::{self, Current};
use super::handle::Span;
use super::ParentContext;

/// The future of an async instrumented function: enters its span on every poll and leaves it
/// after, so the span follows the task across threads and never leaks to another task polled
/// on the same thread; the bytes allocated during each poll count as the span's. Yields the output and the span, which the caller finishes with the
/// output's outcome. If the future is dropped before completion, the span ends there.
#[derive(Debug)]
pub struct Instrumented<F> {
    future: F,
    span: Option<Span>,
}

impl<F: Future> Instrumented<F> {
    /// Wraps `future` in `span`.
    pub fn new(span: Span, future: F) -> Self {
        Self { future, span: Some(span) }
    }
}

/// Restores the previous context when a poll returns or unwinds; a span the poll panicked in
/// is ended there and then, marked as error.
struct PollScope<'a> {
    previous: Option<Current>,
    span: &'a mut Option<Span>,
}

impl Drop for PollScope<'_> {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            current::restore(previous);
        }
        if std::thread::panicking() {
            // Dropping the span ends it with the panic recorded.
            self.span.take();
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = (F::Output, Span);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out while `self` is pinned, and
        // `Drop` below does not move it); `span` is not pinned and may be moved freely.
        let this = unsafe { self.get_unchecked_mut() };
        let previous = this.span.as_ref().and_then(Span::enter);
        let allocated_at = previous.is_some().then(crate::thread_allocations::thread_allocated);
        let mut scope = PollScope { previous, span: &mut this.span };
        // SAFETY: see above.
        let poll = unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx);
        if let (Some(at), Some(span)) = (allocated_at, scope.span.as_mut()) {
            span.add_allocated(crate::thread_allocations::thread_allocated().wrapping_sub(at));
        }
        let output = match poll {
            Poll::Ready(output) => output,
            Poll::Pending => return Poll::Pending,
        };
        if let Some(previous) = scope.previous.take() {
            current::restore(previous);
        }
        let span = scope.span.take().unwrap_or_else(Span::idle);
        Poll::Ready((output, span))
    }
}

/// A future that runs in a captured context: spans it opens begin new segments linked to the
/// span that was current where it was made (a cross-thread reference).
#[derive(Debug)]
pub struct WithContext<F> {
    future: F,
    parent: Option<ParentContext>,
}

impl<F: Future> WithContext<F> {
    pub(crate) fn new(future: F, parent: Option<ParentContext>) -> Self {
        Self { future, parent }
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned as in `Instrumented`; `parent` is pinned with
        // `self`, so the pointer installed below stays valid for the whole poll.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        current::in_parent_scope(this.parent.as_ref(), || future.poll(cx))
    }
}
