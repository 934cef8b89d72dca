//! The thread-local current context: which segment code on this thread records into, which
//! span in it is current, and, between segments, which context a new segment continues.
//!
//! The owner of a segment (the stack frame or future that opened it) installs it here while
//! its code runs and restores the previous value after, on every poll for futures; so the state
//! is only ever the segment of the task running on this thread right now.
//!
//! The CPU sampler's signal handler reads the installed segment's immutable identity through
//! [`installed_segment`]. So that a signal landing anywhere sees a segment that is whole and
//! alive, every store of the context is fenced for the compiler on both sides: a segment is
//! fully written before it is installed, and uninstalled before it is freed or handed over.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{compiler_fence, Ordering};

use super::{ParentContext, Segment, NO_SPAN};

/// What code on this thread is recording into.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Current {
    /// The installed segment, or null.
    pub segment: *mut Segment,
    /// The current span's index in `segment`.
    pub span: u32,
    /// With no segment: the context a new segment continues (cross-thread), or null.
    pub parent: *const ParentContext,
}

impl Current {
    pub(crate) const EMPTY: Self = Self { segment: std::ptr::null_mut(), span: NO_SPAN, parent: std::ptr::null() };
}

thread_local! {
    static CURRENT: Cell<Current> = const { Cell::new(Current::EMPTY) };
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The current context.
#[inline]
pub(crate) fn get() -> Current {
    CURRENT.with(Cell::get)
}

/// Replaces the current context, returning the previous one.
#[inline]
pub(crate) fn replace(next: Current) -> Current {
    compiler_fence(Ordering::SeqCst);
    let previous = CURRENT.with(|c| c.replace(next));
    compiler_fence(Ordering::SeqCst);
    previous
}

/// Restores a context saved by [`replace`]. Safe during thread-local destruction.
#[inline]
pub(crate) fn restore(previous: Current) {
    compiler_fence(Ordering::SeqCst);
    let _ = CURRENT.try_with(|c| c.set(previous));
    compiler_fence(Ordering::SeqCst);
}

/// The segment installed on this thread, or null, for the CPU sampler's signal handler: only
/// its fields that never change after creation may be read through it. Signal-safe: one read
/// of a const-initialised thread-local without destructor.
pub(crate) fn installed_segment() -> *const Segment {
    CURRENT.try_with(|c| c.get().segment.cast_const()).unwrap_or(std::ptr::null())
}

/// Restores a saved context when dropped, unwinding included.
pub(crate) struct RestoreOnDrop(pub Current);

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        restore(self.0);
    }
}

/// Runs `f` on the installed segment, if any.
#[inline]
pub(crate) fn with_segment<R>(f: impl FnOnce(&mut Segment, u32) -> R) -> Option<R> {
    let current = get();
    if current.segment.is_null() {
        return None;
    }
    // SAFETY: a non-null installed segment is alive (its owner uninstalls it before freeing it
    // or handing it over) and is only accessed from this thread; no other reference to it is
    // live while `f` runs, because the owner does not touch it while installed and `f` is ours.
    Some(f(unsafe { &mut *current.segment }, current.span))
}

/// Remembers the message of a panic on this thread, for the spans it unwinds through.
pub(crate) fn set_panic_message(message: String) {
    let _ = PANIC_MESSAGE.try_with(|m| *m.borrow_mut() = Some(message));
}

/// The message of the last panic on this thread.
pub(crate) fn panic_message() -> Option<String> {
    PANIC_MESSAGE.try_with(|m| m.borrow().clone()).ok().flatten()
}
