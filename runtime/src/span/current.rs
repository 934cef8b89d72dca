//! The thread-local current context: which segment code on this thread records into, which
//! span in it is current, and, between segments, which context a new segment continues.
//!
//! The owner of a segment (the stack frame or future that opened it) installs it here while
//! its code runs and restores the previous value after, on every poll for futures; so the state
//! is only ever the segment of the task running on this thread right now.
//!
//! Segments nest: a future polled inside another's poll, or a frame called inside another's
//! scope, may install a segment of its own (a context continued with `in_current_span`, a
//! remote one, an entry span with headers) over the one installed by the code around it. The
//! contexts it replaced are saved by their installers on the stack, out of reach; so that a
//! panic that aborts the process can still find their segments ([`installed_segments`]), each
//! change of installed segment also pushes the replaced context's segment on a small
//! thread-local stack, and restoring that context pops it again. Both happen only where the
//! installed segment changes, next to publishing its identity; entering and leaving a span of
//! the installed segment does neither.
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

/// The span code on this thread records into, as a metric exemplar names it: its trace and span
/// ids, and the id of its segment's first span when the CPU profiler covers the segment (the
/// `pyroscope.profile.id` of its samples). `None` outside a sampled span.
#[inline]
pub(crate) fn exemplar_identity() -> Option<super::ExemplarIdentity> {
    let current = get();
    if current.segment.is_null() {
        return None;
    }
    // SAFETY: the installed segment is alive while installed, and only its owning thread (this
    // one, in ordinary code) borrows it mutably, not during this call.
    let segment = unsafe { &*current.segment };
    segment
        .sampled
        .then(|| (segment.trace_id, segment.span_id(current.span), segment.profiled.then(|| segment.span_id(0))))
}

/// The span a log record made on this thread belongs to, sampled or not: the current span of
/// the installed segment, else the span a context carried here names (a segment not begun yet).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LogIdentity {
    pub trace_id: crate::id::TraceId,
    pub span_id: crate::id::SpanId,
    /// W3C trace flags; the sampled bit says whether the span is exported.
    pub flags: u8,
    /// The span's segment and index in it (SkyWalking's segment id and span id).
    pub segment: Option<(crate::id::SegmentId, u32)>,
    /// The trace id as a SkyWalking caller sent it, when it is not 32 hex digits.
    pub sw_trace_id: Option<std::sync::Arc<str>>,
}

/// The span a log record made here belongs to; `None` outside any span and context.
#[inline]
pub(crate) fn log_identity() -> Option<LogIdentity> {
    let current = get();
    if !current.segment.is_null() {
        // SAFETY: the installed segment is alive while installed, and only its owning thread
        // (this one, in ordinary code) borrows it mutably, not during this call.
        let segment = unsafe { &*current.segment };
        let span = if current.span == NO_SPAN { 0 } else { current.span };
        return Some(LogIdentity {
            trace_id: segment.trace_id,
            span_id: segment.span_id(span),
            flags: segment.flags,
            segment: Some((segment.id, span)),
            sw_trace_id: segment.propagated.sw_trace_id.clone(),
        });
    }
    // SAFETY: an installed parent is kept alive by whoever installed it until it restores the
    // previous context, which happens after this call returns.
    let parent = unsafe { current.parent.as_ref() }?;
    Some(LogIdentity {
        trace_id: parent.trace_id,
        span_id: parent.span_id,
        flags: (parent.flags & !1) | u8::from(parent.sampled),
        segment: parent.segment,
        sw_trace_id: parent.propagated.sw_trace_id.clone(),
    })
}

/// Entries of the enclosing stack kept per thread; deeper ones are counted but not kept (see
/// [`installed_segments`]).
pub(crate) const MAX_ENCLOSING: usize = 16;

/// The segments of the contexts that installed segments replaced (null for a context without
/// one), outermost first: a stack pushed where the installed segment changes and popped where
/// the replaced context is restored.
struct Enclosing {
    /// Entries pushed and not yet popped; the first [`MAX_ENCLOSING`] are in `segments`.
    depth: Cell<usize>,
    segments: [Cell<*mut Segment>; MAX_ENCLOSING],
}

impl Enclosing {
    fn push(&self, segment: *mut Segment) {
        let depth = self.depth.get();
        // Nothing encloses a segment installed where no segment is (the start of a task's
        // poll, of a thread): only a pop to null at depth 0 matches it, which pops nothing.
        if depth == 0 && segment.is_null() {
            return;
        }
        if let Some(slot) = self.segments.get(depth) {
            slot.set(segment);
        }
        self.depth.set(depth.saturating_add(1));
    }

    /// Pops everything down to and including the topmost `segment`. Restores come in the
    /// reverse order of installs, so it is on top; below it only if a context above was left
    /// installed and never restored (a leaked guard), whose entry goes with it. An entry not
    /// kept (beyond [`MAX_ENCLOSING`]) pops one level.
    fn pop_to(&self, segment: *mut Segment) {
        let mut depth = self.depth.get();
        while depth > 0 {
            depth -= 1;
            match self.segments.get(depth) {
                Some(slot) if slot.get() != segment => continue,
                _ => break,
            }
        }
        self.depth.set(depth);
    }
}

thread_local! {
    static CURRENT: Cell<Current> = const { Cell::new(Current::EMPTY) };
    static IDENTITY: Cell<Identity> = const { Cell::new(Identity::NONE) };
    static ENCLOSING: Enclosing = const {
        Enclosing { depth: Cell::new(0), segments: [const { Cell::new(std::ptr::null_mut()) }; MAX_ENCLOSING] }
    };
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
    static PANIC_TICK: Cell<u64> = const { Cell::new(0) };
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
        installed_over(previous.segment, next.segment);
    }
    previous
}

/// Restores a context saved by [`replace`]. Safe during thread-local destruction.
#[inline]
pub(crate) fn restore(previous: Current) {
    let _ = CURRENT.try_with(|c| {
        if c.replace(previous).segment != previous.segment {
            restored(previous.segment);
        }
    });
}

/// `segment` was installed over `outer`, the segment of the context it replaced (null for
/// none): `outer` is pushed on the enclosing stack.
#[cold]
fn installed_over(outer: *mut Segment, segment: *mut Segment) {
    let _ = ENCLOSING.try_with(|enclosing| enclosing.push(outer));
    publish(segment);
}

/// A context whose segment is `segment` was restored where another segment was installed
/// over it: `segment` is popped from the enclosing stack.
#[cold]
fn restored(segment: *mut Segment) {
    let _ = ENCLOSING.try_with(|enclosing| enclosing.pop_to(segment));
    publish(segment);
}

/// The segments installed on this thread, innermost first: the current one and those of the
/// contexts it replaced, as far as the first [`MAX_ENCLOSING`] of them go (the outermost).
///
/// Each is alive: an enclosing segment's owner is a caller of the code that installed the
/// segments over it, so it has not returned (installs and restores nest like the calls that
/// make them). Reading one is sound only where no code holds a mutable borrow of it: the code
/// that borrows a segment (`with_segment` and the handles' methods) runs no application code
/// and does not panic, so a panic on this thread (its hook, an abort after it) qualifies.
pub(crate) fn installed_segments() -> Vec<*mut Segment> {
    let mut segments: Vec<*mut Segment> = Vec::new();
    let _ = ENCLOSING.try_with(|enclosing| {
        let kept = enclosing.segments.iter().take(enclosing.depth.get()).rev().map(Cell::get);
        for segment in std::iter::once(get().segment).chain(kept) {
            if !segment.is_null() && !segments.contains(&segment) {
                segments.push(segment);
            }
        }
    });
    segments
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

/// Remembers the message of a panic on this thread, and when it happened, for the spans it
/// ends.
pub(crate) fn set_panic_message(message: String) {
    let _ = PANIC_TICK.try_with(|t| t.set(crate::clock::now()));
    let _ = PANIC_MESSAGE.try_with(|m| *m.borrow_mut() = Some(message));
}

/// When the last panic on this thread happened, in clock ticks.
pub(crate) fn panic_tick() -> Option<u64> {
    PANIC_TICK.try_with(Cell::get).ok().filter(|&tick| tick != 0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TraceId;
    use crate::span::SpanKind;

    fn root(segment: *mut Segment) -> Current {
        Current { segment, span: 0, parent: std::ptr::null() }
    }

    fn segments(n: usize) -> Vec<*mut Segment> {
        let segment = || Segment::boxed(TraceId::random(), false, None, "s".into(), SpanKind::Local, 1, 8);
        (0..n).map(|_| Box::into_raw(segment())).collect()
    }

    #[test]
    fn installed_segments_follow_nested_installs_and_restores() {
        let s = segments(4);
        let (a, b, c, d) = (s[0], s[1], s[2], s[3]);
        let before_a = replace(root(a));
        // A context continued inside `a` (no segment), and a segment begun in it.
        let before_context = replace(Current::EMPTY);
        let before_b = replace(root(b));
        assert_eq!(installed_segments(), [b, a]);
        let before_child = replace(Current { span: 3, ..get() });
        assert_eq!(installed_segments(), [b, a], "a span of the same segment changes nothing");
        restore(before_child);
        restore(before_b);
        restore(before_context);
        assert_eq!(installed_segments(), [a]);
        let before_c = replace(root(c));
        assert_eq!(installed_segments(), [c, a]);
        restore(before_c);
        restore(before_a);
        assert_eq!(installed_segments(), []);
        // What deeper installs recorded is not read once they are restored.
        let before_d = replace(root(d));
        assert_eq!(installed_segments(), [d]);
        restore(before_d);
        for segment in s {
            // SAFETY: made by `Box::into_raw` above, uninstalled, freed once.
            drop(unsafe { Box::from_raw(segment) });
        }
    }

    #[test]
    fn a_context_never_restored_goes_with_the_one_restored_under_it() {
        let s = segments(3);
        let (a, b, c) = (s[0], s[1], s[2]);
        let before_a = replace(root(a));
        let before_b = replace(root(b));
        // Installed and never restored, as under a leaked guard.
        replace(root(c));
        assert_eq!(installed_segments(), [c, b, a]);
        restore(before_b);
        assert_eq!(installed_segments(), [a]);
        restore(before_a);
        assert_eq!(installed_segments(), []);
        for segment in s {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(segment) });
        }
    }

    #[test]
    fn beyond_the_limit_the_outermost_segments_are_kept() {
        let s = segments(MAX_ENCLOSING + 4);
        let saved: Vec<Current> = s.iter().map(|&segment| replace(root(segment))).collect();
        let innermost = *s.last().unwrap();
        let kept = &s[..MAX_ENCLOSING];
        let expected: Vec<_> = std::iter::once(innermost).chain(kept.iter().rev().copied()).collect();
        assert_eq!(installed_segments(), expected);
        for previous in saved.into_iter().rev() {
            restore(previous);
        }
        assert_eq!(installed_segments(), []);
        for segment in s {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(segment) });
        }
    }
}
