//! Span handles: how generated code starts, enters and ends a span.

use std::borrow::Cow;
use std::fmt;
use std::ptr::NonNull;

use super::current::{self, Current};
use super::record::{SpanKind, SpanLog};
use super::{sampler, ParentContext, Segment};
use crate::global;
use crate::propagation::{self, Extractor, Injector};
use crate::tag::{TagKey, TagMeta, TagValue, TagValueType};

/// What the macro knows about a span at compile time; one `static` per instrumented function.
#[derive(Debug)]
pub struct SpanMeta {
    name: &'static str,
    kind: SpanKind,
    peer: Option<&'static str>,
}

impl SpanMeta {
    #[doc(hidden)]
    pub const fn new(name: &'static str, kind: SpanKind, peer: Option<&'static str>) -> Self {
        Self { name, kind, peer }
    }
}

/// How long a message took from the caller's `sw8-x` sending time to this entry span, in ms:
/// SkyWalking's tag for asynchronous RPC and message queues.
static TRANSMISSION_LATENCY: TagMeta = TagMeta::new("transmission_latency", "transmission.latency");

fn transmission_latency_ms(sent_at_ms: u64) -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    i64::try_from(now).unwrap_or(i64::MAX).saturating_sub(i64::try_from(sent_at_ms).unwrap_or(i64::MAX))
}

/// An error to record on a span: its type and its `Display` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    kind: Cow<'static, str>,
    message: String,
}

impl ErrorInfo {
    /// An error of type `kind` with `message`.
    pub fn new(kind: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self { kind: kind.into(), message: message.into() }
    }

    /// The error of a value of type `E`.
    pub fn of<E: fmt::Display + ?Sized>(error: &E) -> Self {
        Self::new(std::any::type_name::<E>(), error.to_string())
    }

    /// The panic unwinding through this thread now.
    pub(crate) fn panic() -> Self {
        Self::new("panic", current::panic_message().unwrap_or_else(|| "panicked".to_owned()))
    }

    pub(crate) fn into_log(self, span: u32, tick: u64) -> SpanLog {
        SpanLog {
            span,
            tick,
            name: Cow::Borrowed("exception"),
            fields: vec![
                ("exception.type", TagValue::Str(self.kind)),
                ("exception.message", TagValue::Str(Cow::Owned(self.message))),
            ],
        }
    }
}

/// A started span, not yet entered. Generated code creates one at the top of an instrumented
/// function, tags it, enters it around the body and finishes it with the body's outcome.
#[must_use = "a span ends when it is finished or dropped"]
#[derive(Debug)]
pub struct Span {
    state: State,
}

#[derive(Debug)]
enum State {
    /// Not recording: disabled, unsampled, or finished.
    Idle,
    /// A span inside a segment owned by an enclosing frame or future. The pointer is used as an
    /// identity only; it is dereferenced only while it is the segment installed on this thread.
    Child { segment: *const Segment, id: crate::id::SegmentId, index: u32 },
    /// The first span of a segment this handle owns (made by `Box::into_raw`).
    Root { segment: NonNull<Segment> },
}

// SAFETY: `Root` uniquely owns a `Box<Segment>`, and `Segment` is `Send`. `Child` holds a pointer
// that is compared, never dereferenced, unless it equals the segment installed on the current
// thread, which the current thread may access.
unsafe impl Send for Span {}
// SAFETY: no method reaches the segment through `&Span` except on the thread it is installed on.
unsafe impl Sync for Span {}

impl Span {
    /// A span that records nothing.
    pub(crate) fn idle() -> Span {
        Span { state: State::Idle }
    }

    /// Starts a span: `#[local]`, `#[entry]` without headers, `#[exit]` with a literal peer.
    #[inline]
    pub fn start(meta: &'static SpanMeta) -> Span {
        Self::open(meta, None, meta.peer.map(Cow::Borrowed))
    }

    /// Starts an entry span continuing the context found in `carrier`, if any. A malformed
    /// context is counted and ignored: the span starts a new trace.
    pub fn start_entry<C: Extractor + ?Sized>(meta: &'static SpanMeta, carrier: &C) -> Span {
        if global::shared().is_none() {
            return Span::idle();
        }
        let remote = propagation::extract_parent(carrier);
        Self::open(meta, remote, None)
    }

    /// Starts an exit span to `peer`.
    pub fn start_exit<P: fmt::Display + ?Sized>(meta: &'static SpanMeta, peer: &P) -> Span {
        let mut span = Self::open(meta, None, None);
        if span.is_recording() {
            // Format first: user code never runs while the segment is borrowed.
            let peer = Cow::Owned(peer.to_string());
            span.with_segment(|segment, index| segment.peers.push((index, peer)));
        }
        span
    }

    #[inline]
    fn open(meta: &'static SpanMeta, remote: Option<ParentContext>, peer: Option<Cow<'static, str>>) -> Span {
        let current = current::get();
        let state = if remote.is_none() && !current.segment.is_null() {
            // SAFETY: see `current::with_segment`: the installed segment is alive and ours.
            let segment = unsafe { &mut *current.segment };
            if !segment.sampled {
                return Span::idle();
            }
            match segment.push_span(meta.name, meta.kind, current.span, crate::clock::now()) {
                Some(index) => {
                    if let Some(peer) = peer {
                        segment.peers.push((index, peer));
                    }
                    State::Child { segment, id: segment.id, index }
                }
                None => State::Idle,
            }
        } else {
            return Self::open_segment(meta, remote, &current, peer);
        };
        Span { state }
    }

    /// Slow path: the span begins a new segment.
    #[cold]
    fn open_segment(
        meta: &'static SpanMeta,
        remote: Option<ParentContext>,
        current: &Current,
        peer: Option<Cow<'static, str>>,
    ) -> Span {
        let Some(shared) = global::shared() else {
            return Span::idle();
        };
        let parent = remote.or_else(|| {
            // SAFETY: a non-null parent pointer is installed by a `WithContext` future or a
            // spawned thread for as long as it stays valid (see `future.rs` and `spawn.rs`).
            (!current.parent.is_null()).then(|| unsafe { (*current.parent).clone() })
        });
        let trace_id = parent.as_ref().map_or_else(crate::id::TraceId::random, |p| p.trace_id);
        let sampled = sampler::should_sample(&shared.sampler, parent.as_ref(), trace_id);
        let sent_at_ms = parent.as_ref().and_then(|p| p.sent_at_ms);
        let tick = crate::clock::now();
        let mut segment = Segment::new(trace_id, sampled, parent, meta.name, meta.kind, tick, shared.max_spans);
        if sampled {
            if let Some(peer) = peer {
                segment.peers.push((0, peer));
            }
            if let (Some(sent), SpanKind::Entry) = (sent_at_ms, meta.kind) {
                segment.tags.push((0, &TRANSMISSION_LATENCY, TagValue::I64(transmission_latency_ms(sent))));
            }
        }
        Span { state: State::Root { segment: NonNull::from(Box::leak(Box::new(segment))) } }
    }

    /// Whether the span is being recorded (sampled, enabled, not dropped for space).
    #[inline]
    pub fn is_recording(&self) -> bool {
        match &self.state {
            State::Idle => false,
            // SAFETY: the owned segment is alive until this handle finishes it.
            State::Root { segment } => unsafe { segment.as_ref() }.sampled,
            State::Child { .. } => true,
        }
    }

    /// Sets a tag of the declared key `K`.
    pub fn tag<K: TagKey>(&mut self, value: K::Value) {
        let value = value.into_tag_value();
        self.with_segment(|segment, index| segment.tags.push((index, K::meta(), value)));
    }

    /// Injects the span's context into an outgoing request's `carrier`, so the remote side
    /// continues the trace. Works for unsampled traces too (the flag says "not sampled").
    pub fn inject<C: Injector + ?Sized>(&self, carrier: &mut C) {
        match &self.state {
            // SAFETY: the owned segment is alive until this handle finishes it.
            State::Root { segment } => propagation::inject_from(unsafe { segment.as_ref() }, 0, carrier),
            State::Child { index, .. } => {
                let index = *index;
                current::with_segment(|segment, _| propagation::inject_from(segment, index, carrier));
            }
            // Not recording, but maybe inside an unsampled trace that must still propagate.
            State::Idle => {
                current::with_segment(|segment, span| propagation::inject_from(segment, span, carrier));
            }
        }
    }

    /// Ends the span; `error` marks it failed and is logged on it.
    pub fn finish(mut self, error: Option<ErrorInfo>) {
        self.end(error);
    }

    /// Runs `f` on the span's segment with the span's index, if it is reachable from here.
    /// `f` must not run user code: that code could open spans in the same segment.
    fn with_segment<R>(&mut self, f: impl FnOnce(&mut Segment, u32) -> R) -> Option<R> {
        match &mut self.state {
            State::Idle => None,
            // SAFETY: the owned segment is alive until this handle finishes it, and it is not
            // installed anywhere while the handle itself is used (only between polls/scopes).
            State::Root { segment } => Some(f(unsafe { segment.as_mut() }, 0)),
            State::Child { segment, id, index } => {
                let (segment, id, index) = (*segment, *id, *index);
                current::with_segment(|installed, _| {
                    (std::ptr::eq(installed, segment) && installed.id == id).then(|| f(installed, index))
                })
                .flatten()
            }
        }
    }

    /// Makes this span the current one on this thread; returns what to restore.
    #[inline]
    pub(crate) fn enter(&self) -> Option<Current> {
        match &self.state {
            State::Idle => None,
            State::Root { segment } => Some(current::replace(Current {
                segment: segment.as_ptr(),
                span: 0,
                parent: std::ptr::null(),
            })),
            State::Child { segment, id, index } => {
                let current = current::get();
                // SAFETY: the installed segment is alive (see `current::with_segment`).
                let ours = std::ptr::eq(current.segment, *segment) && unsafe { (*current.segment).id } == *id;
                ours.then(|| current::replace(Current { span: *index, ..current }))
            }
        }
    }

    /// Ends the span now. Idempotent: a finished span is idle.
    pub(crate) fn end(&mut self, error: Option<ErrorInfo>) {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => {}
            State::Child { segment, id, index } => {
                let tick = crate::clock::now();
                current::with_segment(|installed, _| {
                    if std::ptr::eq(installed, segment) && installed.id == id {
                        installed.end_span(index, tick, error);
                    }
                });
            }
            State::Root { segment } => {
                // SAFETY: `segment` came from `Box::leak` in `open_segment`, is owned by this
                // handle alone and is no longer installed (callers restore the previous context
                // before ending), so it can be turned back into the box.
                let mut segment = unsafe { Box::from_raw(segment.as_ptr()) };
                segment.end_span(0, crate::clock::now(), error);
                if segment.sampled {
                    crate::export::submit(segment);
                }
            }
        }
    }

    /// The error to record if the span ends now: the panic unwinding through it, if any.
    fn drop_error() -> Option<ErrorInfo> {
        std::thread::panicking().then(ErrorInfo::panic)
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if !matches!(self.state, State::Idle) {
            self.end(Self::drop_error());
        }
    }
}

/// The guard of a sync instrumented function: its span is current while the guard lives, and
/// ends with an error if the guard is dropped by a panic.
#[derive(Debug)]
pub struct SyncSpan {
    span: Span,
    previous: Option<Current>,
}

impl SyncSpan {
    /// Enters `span` until the guard is finished or dropped.
    #[inline]
    pub fn enter(span: Span) -> SyncSpan {
        let previous = span.enter();
        SyncSpan { span, previous }
    }

    /// Leaves and ends the span with the function's outcome.
    #[inline]
    pub fn finish(mut self, error: Option<ErrorInfo>) {
        self.leave();
        self.span.end(error);
    }

    #[inline]
    fn leave(&mut self) {
        if let Some(previous) = self.previous.take() {
            current::restore(previous);
        }
    }
}

impl Drop for SyncSpan {
    fn drop(&mut self) {
        // Leave first: a segment this span owns must be uninstalled before it is handed over.
        // The span itself drops next, ending with the panic if one is unwinding.
        self.leave();
    }
}
