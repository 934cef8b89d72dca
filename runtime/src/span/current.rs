//! The thread-local current context: which segment code on this thread records into, which
//! span in it is current, and, between segments, which context a new segment continues.
//!
//! The owner of a segment (the stack frame or future that opened it) installs it here while
//! its code runs and restores the previous value after, on every poll for futures; so the state
//! is only ever the segment of the task running on this thread right now.
//!
//! The CPU sampler's signal handler never dereferences a segment: whenever the installed
//! segment changes, its immutable identity (ids, sampling, endpoint) is published in a second
//! thread-local, [`identity`], which the handler copies. Stores are fenced for the compiler so a
//! signal landing anywhere sees an identity whose segment is alive: a segment is uninstalled
//! before it is freed or handed over.

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

/// The identity of the installed segment, as the CPU sampler labels samples with it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Identity {
    /// Zero when no sampled segment is installed.
    pub segment: u128,
    pub trace_id: u128,
    /// The segment's endpoint name: valid UTF-8, alive while this identity is published.
    pub endpoint: *const u8,
    pub endpoint_len: usize,
}

impl Identity {
    const NONE: Self = Self { segment: 0, trace_id: 0, endpoint: std::ptr::null(), endpoint_len: 0 };

    fn of(segment: *const Segment) -> Self {
        if segment.is_null() {
            return Self::NONE;
        }
        // SAFETY: called by the owning thread, in ordinary code, with a segment that is being
        // installed or is still installed: alive, and not borrowed mutably right now.
        let segment = unsafe { &*segment };
        if !segment.sampled {
            return Self::NONE;
        }
        Self {
            segment: segment.id.to_int(),
            trace_id: segment.trace_id.to_int(),
            endpoint: segment.endpoint.as_ptr(),
            endpoint_len: segment.endpoint.len(),
        }
    }
}

thread_local! {
    static CURRENT: Cell<Current> = const { Cell::new(Current::EMPTY) };
    static IDENTITY: Cell<Identity> = const { Cell::new(Identity::NONE) };
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
    let previous = CURRENT.with(|c| c.replace(next));
    if previous.segment != next.segment {
        publish(next.segment);
    }
    previous
}

/// Restores a context saved by [`replace`]. Safe during thread-local destruction.
#[inline]
pub(crate) fn restore(previous: Current) {
    let _ = CURRENT.try_with(|c| {
        if c.replace(previous).segment != previous.segment {
            publish(previous.segment);
        }
    });
}

/// Publishes the identity of the newly installed segment for the signal handler.
#[cold]
fn publish(segment: *mut Segment) {
    compiler_fence(Ordering::SeqCst);
    let _ = IDENTITY.try_with(|i| i.set(Identity::of(segment)));
    compiler_fence(Ordering::SeqCst);
}

/// The identity of the sampled segment installed on this thread. Signal-safe: one read of a
/// const-initialised thread-local without destructor.
pub(crate) fn identity() -> Identity {
    IDENTITY.try_with(Cell::get).unwrap_or(Identity::NONE)
}

/// A segment named by address and id, dereferenced only while it is the one installed on this
/// thread: how spans and `SpanRef`s reach a segment owned by someone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentRef {
    segment: *const Segment,
    /// The segment id's low bits: with the address, tells a segment from a later one that
    /// happens to reuse its memory.
    key: u64,
}

impl SegmentRef {
    pub(crate) fn of(segment: &Segment) -> Self {
        Self { segment, key: segment.id.to_int() as u64 }
    }

    /// Whether this is the segment of `current`.
    #[inline]
    pub(crate) fn is_installed_in(self, current: &Current) -> bool {
        // SAFETY: the installed segment is alive (see `with_segment`); only its id is read.
        std::ptr::eq(current.segment, self.segment) && unsafe { (*current.segment).id.to_int() as u64 } == self.key
    }

    /// Runs `f` on the segment if it is the one installed on this thread.
    #[inline]
    pub(crate) fn with<R>(self, f: impl FnOnce(&mut Segment) -> R) -> Option<R> {
        let current = get();
        // SAFETY: as in `with_segment`.
        self.is_installed_in(&current).then(|| f(unsafe { &mut *current.segment }))
    }
}

/// Restores a saved context when dropped, unwinding included.
pub(crate) struct RestoreOnDrop(pub Current);

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        restore(self.0);
    }
}

/// Runs `f` on the installed segment, if any. `f` must not run application code: that code
/// could reach the same segment.
#[inline]
pub(crate) fn with_segment<R>(f: impl FnOnce(&mut Segment, u32) -> R) -> Option<R> {
    let current = get();
    if current.segment.is_null() {
        return None;
    }
    // SAFETY: a non-null installed segment is alive (its owner uninstalls it before freeing it
    // or handing it over) and is only accessed from this thread; no other reference to it is
    // live while `f` runs: the owner does not touch it while installed, and `f` runs no
    // application code (carriers, `Display`, user tag types are called outside).
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

/// Runs `f` with no segment installed and `parent` as the context that segments begun inside
/// continue (none: they begin new traces), then restores what was current, unwinding included.
pub(crate) fn in_parent_scope<R>(parent: Option<&ParentContext>, f: impl FnOnce() -> R) -> R {
    let parent = parent.map_or(std::ptr::null(), |p| p as *const ParentContext);
    let previous = replace(Current { segment: std::ptr::null_mut(), span: NO_SPAN, parent });
    // The borrow of `parent` outlives the guard, which uninstalls the pointer before `f`'s
    // caller can free it.
    let _restore = RestoreOnDrop(previous);
    f()
}
