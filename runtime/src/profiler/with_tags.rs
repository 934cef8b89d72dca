//! The future adapter of async `#[profiled]` functions.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::tag_state::TagSet;

/// Pushes its tags around every poll of the inner future, so the tags follow the task across
/// threads and never leak to another task polled on the same thread.
#[derive(Debug)]
pub struct WithTags<const N: usize, F> {
    tags: TagSet<N>,
    future: F,
}

impl<const N: usize, F: Future> WithTags<N, F> {
    /// Wraps `future`.
    pub fn new(tags: TagSet<N>, future: F) -> Self {
        Self { tags, future }
    }
}

impl<const N: usize, F: Future> Future for WithTags<N, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` and `self`
        // has no `Drop` impl or `Unpin` impl that could move it; `tags` is only borrowed.
        let this = unsafe { self.get_unchecked_mut() };
        let _guard = this.tags.push();
        // SAFETY: see above; `this.future` stays where it is for as long as `self` is pinned.
        unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx)
    }
}
