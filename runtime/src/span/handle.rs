//! Span handles: how generated code starts, enters and ends a span.

use std::borrow::Cow;
use std::fmt;
use std::ptr::NonNull;

use super::current::{self, Current, SegmentRef};
use super::record::{ErrorInfo, SpanKind, SpanLog};
use super::{ParentContext, Segment};
use crate::config::sampler;
use crate::propagation::{self, Extractor, Injector};
use crate::tag::{TagKey, TagMeta, TagValue, TagValueType};
use crate::thread_allocations as alloc;

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

    /// The span's name.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The span's kind.
    pub(crate) fn kind(&self) -> SpanKind {
        self.kind
    }
}

#[cfg(any(feature = "tower", feature = "reqwest", feature = "tracing", feature = "opentelemetry"))]
/// Where a span started at run time ([`Span::start_named`]) hangs in its trace.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "made and consumed at once, on the stack, when a span starts")]
pub(crate) enum Parent {
    /// Under the span current on this thread; with none, the span begins a segment that
    /// continues the cross-thread context installed here, or a new trace.
    Current,
    #[cfg(any(feature = "tracing", feature = "opentelemetry"))]
    /// Under the span at this index of the segment installed on this thread.
    InSegment(u32),
    #[cfg(any(feature = "tower", feature = "opentelemetry"))]
    /// Under a span in another process or on another thread: the span begins a segment.
    Context(ParentContext),
}

/// How long a message took from the caller's `sw8-x` sending time to this entry span, in ms:
/// SkyWalking's tag for asynchronous RPC and message queues.
static TRANSMISSION_LATENCY: TagMeta = TagMeta::new("transmission_latency", "transmission.latency");

fn transmission_latency_ms(sent_at_ms: u64) -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    i64::try_from(now).unwrap_or(i64::MAX).saturating_sub(i64::try_from(sent_at_ms).unwrap_or(i64::MAX))
}

impl ErrorInfo {
    /// The panic unwinding through this thread now.
    pub(crate) fn panic() -> Self {
        Self::new("panic", current::panic_message().unwrap_or_else(|| "panicked".to_owned()))
    }
}

/// A started span, not yet entered. Generated code creates one at the top of an instrumented
/// function, tags it, enters it around the body and finishes it with the body's outcome.
///
/// The idle cases (disabled, unsampled, full segment, finished) are decided inline in a few
/// instructions; everything else is out of line.
#[must_use = "a span ends when it is finished or dropped"]
#[derive(Debug)]
pub struct Span {
    state: SpanState,
}

#[derive(Debug)]
enum SpanState {
    /// Not recording: disabled, unsampled, or finished.
    Idle,
    /// A span inside a segment owned by an enclosing frame or future.
    Child { segment: SegmentRef, index: u32 },
    /// The first span of a segment this handle owns (made by `Box::into_raw`).
    Root { segment: NonNull<Segment> },
}

// SAFETY: `Root` uniquely owns a `Box<Segment>`, and `Segment` is `Send`. `Child` holds a
// `SegmentRef`, dereferenced only on the thread where its segment is installed.
unsafe impl Send for Span {}
// SAFETY: no method reaches the segment through `&Span` except on the thread it is installed on.
unsafe impl Sync for Span {}

impl Span {
    /// A span that records nothing.
    #[inline(always)]
    pub(crate) fn idle() -> Span {
        Span { state: SpanState::Idle }
    }

    /// Starts a span: `#[local]`, `#[entry]` without headers, `#[exit]` with a literal peer.
    ///
    /// Inside an unsampled segment or with spanscope disabled this is a thread-local read and a
    /// branch; inside a sampled segment, a push and a clock read.
    #[inline(always)]
    pub fn start(meta: &'static SpanMeta) -> Span {
        let current = current::get();
        if current.segment.is_null() {
            if crate::state::current().is_none() {
                return Span::idle();
            }
            return Self::open_root_of(meta, &current);
        }
        // SAFETY: see `current::with_segment`: the installed segment is alive and ours, and no
        // other reference to it is live here.
        if !unsafe { (*current.segment).sampled } {
            return Span::idle();
        }
        Self::open_child_of(meta, &current)
    }

    /// `meta`'s span under the current one in the installed, sampled segment. Out of line, so
    /// each instrumented function's inline part stays the idle checks.
    #[inline(never)]
    fn open_child_of(meta: &'static SpanMeta, current: &Current) -> Span {
        Self::open_child(Cow::Borrowed(meta.name), meta.kind, meta.peer.map(Cow::Borrowed), current.span, current)
    }

    /// `meta`'s span beginning a segment.
    #[cold]
    fn open_root_of(meta: &'static SpanMeta, current: &Current) -> Span {
        Self::open_segment(Cow::Borrowed(meta.name), meta.kind, meta.peer.map(Cow::Borrowed), None, current)
    }

    /// A span under `parent` in the installed, sampled segment.
    #[inline]
    fn open_child(
        name: Cow<'static, str>,
        kind: SpanKind,
        peer: Option<Cow<'static, str>>,
        parent: u32,
        current: &Current,
    ) -> Span {
        // SAFETY: as in `start`.
        let segment = unsafe { &mut *current.segment };
        match segment.push_span(name, kind, parent, crate::clock::now()) {
            Some(index) => {
                if let Some(peer) = peer {
                    segment.peers.push((index, peer));
                }
                Span { state: SpanState::Child { segment: SegmentRef::of(segment), index } }
            }
            None => Span::idle(),
        }
    }

    /// Starts an entry span continuing the context found in `carrier`, if any. A malformed
    /// context is counted and ignored: the span starts a new trace.
    pub fn start_entry<C: Extractor + ?Sized>(meta: &'static SpanMeta, carrier: &C) -> Span {
        if crate::state::current().is_none() {
            return Span::idle();
        }
        match propagation::extract_parent(carrier) {
            Some(remote) => {
                Self::open_segment(Cow::Borrowed(meta.name), meta.kind, None, Some(remote), &current::get())
            }
            None => Self::start(meta),
        }
    }

    /// Starts an exit span to `peer`.
    pub fn start_exit<P: fmt::Display + ?Sized>(meta: &'static SpanMeta, peer: &P) -> Span {
        let mut span = Self::start(meta);
        if span.is_recording() {
            // Format first: application code never runs while a segment is borrowed.
            let peer = Cow::Owned(peer.to_string());
            span.with_segment(|segment, index| segment.peers.push((index, peer)));
        }
        span
    }

    /// Starts a span whose name and kind are known only at run time (spans by hand and the
    /// integrations' spans), under `parent`. Not entered: see [`Span::enter`] and [`Instrumented`].
    ///
    /// [`Instrumented`]: super::Instrumented
    #[cfg(any(feature = "tower", feature = "reqwest", feature = "tracing", feature = "opentelemetry"))]
    pub(crate) fn start_named(name: impl Into<Cow<'static, str>>, kind: SpanKind, parent: Parent) -> Span {
        match parent {
            #[cfg(any(feature = "tower", feature = "opentelemetry"))]
            Parent::Context(remote) => Self::start_remote(name.into(), kind, remote),
            Parent::Current => Self::start_under(name.into(), kind, None),
            #[cfg(any(feature = "tracing", feature = "opentelemetry"))]
            Parent::InSegment(index) => Self::start_under(name.into(), kind, Some(index)),
        }
    }

    /// Starts a span named at run time that begins a segment continuing `remote`.
    pub(crate) fn start_remote(name: Cow<'static, str>, kind: SpanKind, remote: ParentContext) -> Span {
        match crate::state::current() {
            Some(_) => Self::open_segment(name, kind, None, Some(remote), &current::get()),
            None => Span::idle(),
        }
    }

    /// Starts a span named at run time under the span at `index` of the installed segment, or
    /// under the current span. Takes no remote context, which is large to move: the idle checks
    /// and a child's start stay a few register moves, as in [`start`](Self::start).
    #[inline]
    pub(crate) fn start_under(name: Cow<'static, str>, kind: SpanKind, index: Option<u32>) -> Span {
        if crate::state::current().is_none() {
            return Span::idle();
        }
        let current = current::get();
        if current.segment.is_null() {
            return Self::open_segment(name, kind, None, None, &current);
        }
        // SAFETY: as in `start`.
        if !unsafe { (*current.segment).sampled } {
            return Span::idle();
        }
        Self::open_child(name, kind, None, index.unwrap_or(current.span), &current)
    }

    /// The span begins a new segment, continuing `remote` if given, else the cross-thread
    /// context installed here, else a new trace.
    fn open_segment(
        name: Cow<'static, str>,
        kind: SpanKind,
        peer: Option<Cow<'static, str>>,
        remote: Option<ParentContext>,
        current: &Current,
    ) -> Span {
        let Some(shared) = crate::state::current() else {
            return Span::idle();
        };
        let parent = remote.or_else(|| {
            // SAFETY: a non-null parent pointer is installed by a `WithContext` future, a
            // `RemoteContext` scope or a spawned thread for as long as it stays valid.
            (!current.parent.is_null()).then(|| unsafe { (*current.parent).clone() })
        });
        let trace_id = parent.as_ref().map_or_else(crate::id::TraceId::random, |p| p.trace_id);
        let sampled = sampler::should_sample(&shared.sampler, parent.as_ref().map(|parent| parent.sampled), trace_id);
        let sent_at_ms = parent.as_ref().and_then(|p| p.sent_at_ms);
        let tick = crate::clock::now();
        let mut segment = Segment::boxed(trace_id, sampled, parent, name, kind, tick, shared.max_spans);
        if sampled {
            if let Some(peer) = peer {
                segment.peers.push((0, peer));
            }
            if let (Some(sent), SpanKind::Entry) = (sent_at_ms, kind) {
                segment.tags.push((0, &TRANSMISSION_LATENCY, TagValue::I64(transmission_latency_ms(sent))));
            }
        }
        Span { state: SpanState::Root { segment: NonNull::from(Box::leak(segment)) } }
    }

    /// Whether the span is being recorded (sampled, enabled, not dropped for space).
    #[inline]
    pub fn is_recording(&self) -> bool {
        match &self.state {
            SpanState::Idle => false,
            // SAFETY: the owned segment is alive until this handle finishes it.
            SpanState::Root { segment } => unsafe { segment.as_ref() }.sampled,
            SpanState::Child { .. } => true,
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
        // The headers are made while the segment is borrowed and written after: the carrier
        // may be application code.
        let headers = match &self.state {
            // SAFETY: the owned segment is alive until this handle finishes it.
            SpanState::Root { segment } => Some(super::headers::headers_for(unsafe { segment.as_ref() }, 0)),
            SpanState::Child { segment, index } => segment.with(|segment| super::headers::headers_for(segment, *index)),
            // Not recording, but maybe inside an unsampled trace that must still propagate.
            SpanState::Idle => current::with_segment(|segment, span| super::headers::headers_for(segment, span)),
        };
        if let Some(headers) = headers {
            headers.write_to(carrier);
        }
    }

    #[cfg(any(feature = "tracing", feature = "opentelemetry"))]
    /// Renames the span (the segment's endpoint, fixed when it began, stays).
    pub(crate) fn set_name(&mut self, name: impl Into<Cow<'static, str>>) {
        let name = name.into();
        self.with_segment(|segment, index| segment.spans[index as usize].name = name);
    }

    /// Records the remote address of an exit span.
    pub(crate) fn set_peer(&mut self, peer: impl Into<Cow<'static, str>>) {
        let peer = peer.into();
        self.with_segment(|segment, index| {
            // Peers stay in span order (`Segment::peer` searches them), one per span.
            match segment.peers.binary_search_by_key(&index, |(i, _)| *i) {
                Ok(at) => segment.peers[at].1 = peer,
                Err(at) => segment.peers.insert(at, (index, peer)),
            }
        });
    }

    /// Sets a tag whose key is known only at run time or is the runtime's own.
    pub(crate) fn set_tag(&mut self, meta: &'static TagMeta, value: TagValue) {
        self.with_segment(|segment, index| segment.tags.push((index, meta, value)));
    }

    #[cfg(feature = "opentelemetry")]
    /// Logs a timestamped event with `fields` on the span.
    pub(crate) fn log(&mut self, name: impl Into<Cow<'static, str>>, fields: Vec<(&'static str, TagValue)>) {
        if self.is_recording() {
            let (name, tick) = (name.into(), crate::clock::now());
            self.with_segment(|segment, span| segment.logs.push(SpanLog { span, tick, name, fields }));
        }
    }

    #[cfg(any(feature = "tower", feature = "reqwest", feature = "tracing", feature = "opentelemetry"))]
    /// Marks the span failed; `error`, if given, is logged on it as an `exception` event.
    pub(crate) fn set_error(&mut self, error: Option<ErrorInfo>) {
        let tick = crate::clock::now();
        self.with_segment(|segment, index| segment.fail_span(index, tick, error));
    }

    #[cfg(feature = "opentelemetry")]
    /// The span's ids; for a span that does not record, those of the unsampled span current
    /// here, if any.
    pub(crate) fn context(&self) -> Option<super::SpanContext> {
        match &self.state {
            // SAFETY: the owned segment is alive until this handle finishes it.
            SpanState::Root { segment } => Some(unsafe { segment.as_ref() }.span_context(0)),
            SpanState::Child { segment, index } => segment.with(|segment| segment.span_context(*index)),
            SpanState::Idle => current::with_segment(|segment, span| segment.span_context(span)),
        }
    }

    /// The span as the parent of segments begun elsewhere (other tasks or threads); `None`
    /// when it does not record or its segment is not reachable from here.
    #[cfg(feature = "tracing")]
    pub(crate) fn parent_context(&self) -> Option<ParentContext> {
        match &self.state {
            SpanState::Idle => None,
            // SAFETY: the owned segment is alive until this handle finishes it.
            SpanState::Root { segment } => Some(ParentContext::of(unsafe { segment.as_ref() }, 0)),
            SpanState::Child { segment, index } => segment.with(|segment| ParentContext::of(segment, *index)),
        }
    }

    /// The span as a metric exemplar names it (see [`current::exemplar_identity`]); `None`
    /// when it does not record.
    pub(crate) fn exemplar_identity(&self) -> Option<super::ExemplarIdentity> {
        let identity = |segment: &super::Segment, index: u32| {
            (segment.trace_id, segment.span_id(index), segment.profiled.then(|| segment.span_id(0)))
        };
        match &self.state {
            SpanState::Idle => None,
            // SAFETY: the owned segment is alive until this handle finishes it.
            SpanState::Root { segment } => Some(identity(unsafe { segment.as_ref() }, 0)),
            SpanState::Child { segment, index } => segment.with(|segment| identity(segment, *index)),
        }
    }

    /// Ends the span; the error `error` gives, if any, marks it failed and is logged on it.
    /// `error` runs only for a span that records, so an unrecorded one never formats it.
    #[inline(always)]
    pub fn finish(mut self, error: impl FnOnce() -> Option<ErrorInfo>) {
        if !matches!(self.state, SpanState::Idle) {
            self.end_recording(error());
        }
    }

    /// Runs `f` on the span's segment with the span's index, if it is reachable from here.
    /// `f` must not run application code: that code could open spans in the same segment.
    /// An unsampled segment is not reached: nothing recorded on it would be exported.
    fn with_segment<R>(&mut self, f: impl FnOnce(&mut Segment, u32) -> R) -> Option<R> {
        match &mut self.state {
            SpanState::Idle => None,
            SpanState::Root { segment } => {
                // SAFETY: the owned segment is alive until this handle finishes it, and it is
                // not installed anywhere while the handle itself is used (only between polls
                // and scopes).
                let segment = unsafe { segment.as_mut() };
                segment.sampled.then(|| f(segment, 0))
            }
            SpanState::Child { segment, index } => segment.with(|segment| f(segment, *index)),
        }
    }

    /// Counts `bytes` as allocated while this span was current (during one poll of its future).
    pub(crate) fn add_allocated(&mut self, bytes: u64) {
        self.with_segment(|segment, index| segment.add_allocated(index, bytes));
    }

    /// Makes this span the current one on this thread; returns what to restore.
    #[inline(always)]
    pub(crate) fn enter(&self) -> Option<Current> {
        match &self.state {
            SpanState::Idle => None,
            SpanState::Root { segment } => {
                Some(current::replace(Current { segment: segment.as_ptr(), span: 0, parent: std::ptr::null() }))
            }
            SpanState::Child { segment, index } => {
                let current = current::get();
                segment.is_installed_in(&current).then(|| current::replace(Current { span: *index, ..current }))
            }
        }
    }

    /// Ends a recording span now; it is idle after.
    #[inline(never)]
    fn end_recording(&mut self, error: Option<ErrorInfo>) {
        match std::mem::replace(&mut self.state, SpanState::Idle) {
            SpanState::Idle => {}
            SpanState::Child { segment, index } => {
                let tick = crate::clock::now();
                segment.with(|segment| segment.end_span(index, tick, error));
            }
            SpanState::Root { segment } => end_root(segment, error),
        }
    }

    /// The error to record if the span ends now: the panic unwinding through it, if any.
    fn drop_error() -> Option<ErrorInfo> {
        std::thread::panicking().then(ErrorInfo::panic)
    }
}

impl Drop for Span {
    #[inline(always)]
    fn drop(&mut self) {
        if !matches!(self.state, SpanState::Idle) {
            self.end_recording(Self::drop_error());
        }
    }
}

/// Ends the first span of a segment and hands the segment over: to the exporters if it is
/// sampled, else back to this thread for reuse.
fn end_root(segment: NonNull<Segment>, error: Option<ErrorInfo>) {
    // SAFETY: `segment` came from `Box::leak` in `Span::open_segment`, is owned by the caller
    // alone and is no longer installed (callers restore the previous context before ending),
    // so it can be turned back into the box.
    let mut segment = unsafe { Box::from_raw(segment.as_ptr()) };
    segment.end_span(0, crate::clock::now(), error);
    if segment.sampled {
        segment.close_open_spans();
        segment.remember_sizes();
        super::outbox::submit(segment);
    } else {
        segment.recycle();
    }
}

/// The span of a sync instrumented function, current from [`start`](Self::start) until it is
/// finished or dropped (a panic ends it as an error). Idle, it is one discriminant: starting,
/// finishing and dropping it cost a few instructions.
#[must_use = "the span ends when the guard is finished or dropped"]
#[derive(Debug)]
pub struct SyncSpan {
    guard: EnteredState,
}

/// A recording guard's `allocated_at` is this thread's allocation total when it was entered.
#[derive(Debug)]
enum EnteredState {
    Idle,
    /// A span of the segment installed here; `previous` is the span current before it.
    Child {
        segment: SegmentRef,
        index: u32,
        previous: u32,
        allocated_at: u64,
    },
    /// The first span of a segment the guard owns and has installed; `previous` is the
    /// context to restore.
    Root {
        segment: NonNull<Segment>,
        previous: Current,
        allocated_at: u64,
    },
}

// SAFETY: as for `Span`, which a `SyncSpan` is made from.
unsafe impl Send for SyncSpan {}
// SAFETY: as for `Span`.
unsafe impl Sync for SyncSpan {}

impl SyncSpan {
    /// Starts and enters a span (see [`Span::start`]).
    #[inline(always)]
    pub fn start(meta: &'static SpanMeta) -> SyncSpan {
        Self::entering(Span::start(meta))
    }

    /// Starts and enters an entry span (see [`Span::start_entry`]).
    #[inline]
    pub fn start_entry<C: Extractor + ?Sized>(meta: &'static SpanMeta, carrier: &C) -> SyncSpan {
        Self::entering(Span::start_entry(meta, carrier))
    }

    /// Starts and enters an exit span (see [`Span::start_exit`]).
    #[inline]
    pub fn start_exit<P: fmt::Display + ?Sized>(meta: &'static SpanMeta, peer: &P) -> SyncSpan {
        Self::entering(Span::start_exit(meta, peer))
    }

    /// Makes `span` current until the guard ends.
    #[inline(always)]
    pub(crate) fn entering(mut span: Span) -> SyncSpan {
        let guard = match std::mem::replace(&mut span.state, SpanState::Idle) {
            SpanState::Idle => EnteredState::Idle,
            SpanState::Child { segment, index } => {
                // A child span is made in the segment installed here, whose current span is
                // its parent.
                let current = current::get();
                current::replace(Current { span: index, ..current });
                EnteredState::Child { segment, index, previous: current.span, allocated_at: alloc::thread_allocated() }
            }
            SpanState::Root { segment } => EnteredState::Root {
                segment,
                previous: current::replace(Current { segment: segment.as_ptr(), span: 0, parent: std::ptr::null() }),
                allocated_at: alloc::thread_allocated(),
            },
        };
        SyncSpan { guard }
    }

    /// Whether the span is being recorded.
    #[inline(always)]
    pub fn is_recording(&self) -> bool {
        !matches!(self.guard, EnteredState::Idle)
    }

    /// Sets a tag of the declared key `K`.
    pub fn tag<K: TagKey>(&mut self, value: K::Value) {
        let value = value.into_tag_value();
        self.with_segment(|segment, index| segment.tags.push((index, K::meta(), value)));
    }

    /// Injects the span's context into an outgoing request's `carrier` (see [`Span::inject`]).
    pub fn inject<C: Injector + ?Sized>(&self, carrier: &mut C) {
        let headers = match &self.guard {
            EnteredState::Idle => current::with_segment(|segment, span| super::headers::headers_for(segment, span)),
            EnteredState::Child { segment, index, .. } => {
                segment.with(|segment| super::headers::headers_for(segment, *index))
            }
            // SAFETY: the guard owns the segment; nothing borrows it mutably while this runs.
            EnteredState::Root { segment, .. } => Some(super::headers::headers_for(unsafe { segment.as_ref() }, 0)),
        };
        if let Some(headers) = headers {
            headers.write_to(carrier);
        }
    }

    /// Logs a timestamped event on the span.
    pub(crate) fn log(&mut self, name: Cow<'static, str>) {
        let tick = crate::clock::now();
        self.with_segment(|segment, span| segment.logs.push(SpanLog { span, tick, name, fields: Vec::new() }));
    }

    /// Marks the span failed with `error`, logged on it as an `exception` event.
    pub(crate) fn record_error(&mut self, error: ErrorInfo) {
        let tick = crate::clock::now();
        self.with_segment(|segment, index| segment.fail_span(index, tick, Some(error)));
    }

    /// The span's ids; for a span that does not record, those of the unsampled span current
    /// here, if any.
    pub(crate) fn context(&self) -> Option<super::SpanContext> {
        match &self.guard {
            EnteredState::Idle => current::with_segment(|segment, span| segment.span_context(span)),
            EnteredState::Child { segment, index, .. } => segment.with(|segment| segment.span_context(*index)),
            // SAFETY: the guard owns the segment; nothing borrows it mutably while this runs.
            EnteredState::Root { segment, .. } => Some(unsafe { segment.as_ref() }.span_context(0)),
        }
    }

    /// The span as a metric exemplar names it; `None` when it does not record.
    pub(crate) fn exemplar_identity(&self) -> Option<super::ExemplarIdentity> {
        match &self.guard {
            EnteredState::Idle => None,
            EnteredState::Child { segment, index, .. } => segment.with(|segment| segment.exemplar_identity(*index)),
            // SAFETY: the guard owns the segment; nothing borrows it mutably while this runs.
            EnteredState::Root { segment, .. } => Some(unsafe { segment.as_ref() }.exemplar_identity(0)),
        }
    }

    /// Runs `f` on the span's segment; `f` must not run application code.
    fn with_segment<R>(&mut self, f: impl FnOnce(&mut Segment, u32) -> R) -> Option<R> {
        match &mut self.guard {
            EnteredState::Idle => None,
            EnteredState::Child { segment, index, .. } => segment.with(|segment| f(segment, *index)),
            // SAFETY: the guard owns the segment; it is installed here, but nothing else
            // borrows it while the guard's own method runs.
            EnteredState::Root { segment, .. } => Some(f(unsafe { segment.as_mut() }, 0)),
        }
    }

    /// Leaves and ends the span with the function's outcome; `error` runs only for a span that
    /// records, so an unrecorded one never formats its error.
    #[inline(always)]
    pub fn finish(mut self, error: impl FnOnce() -> Option<ErrorInfo>) {
        if !matches!(self.guard, EnteredState::Idle) {
            self.end(error());
        }
    }

    #[inline(never)]
    fn end(&mut self, error: Option<ErrorInfo>) {
        match std::mem::replace(&mut self.guard, EnteredState::Idle) {
            EnteredState::Idle => {}
            EnteredState::Child { segment, index, previous, allocated_at } => {
                let tick = crate::clock::now();
                let current = current::get();
                if segment.is_installed_in(&current) {
                    // SAFETY: the installed segment is alive and ours (see `current::with_segment`);
                    // no other reference to it is live here.
                    let segment = unsafe { &mut *current.segment };
                    segment.add_allocated(index, alloc::thread_allocated().wrapping_sub(allocated_at));
                    segment.end_span(index, tick, error);
                    current::replace(Current { span: previous, ..current });
                }
            }
            EnteredState::Root { mut segment, previous, allocated_at } => {
                // Leave first: the segment must be uninstalled before it is handed over.
                current::restore(previous);
                // SAFETY: the guard owns the segment, no longer installed; nothing else borrows it.
                unsafe { segment.as_mut() }.add_allocated(0, alloc::thread_allocated().wrapping_sub(allocated_at));
                end_root(segment, error);
            }
        }
    }
}

impl Drop for SyncSpan {
    #[inline(always)]
    fn drop(&mut self) {
        if !matches!(self.guard, EnteredState::Idle) {
            self.end(Span::drop_error());
        }
    }
}
