//! Spans by hand: [`local`], [`entry`] and [`exit`] describe a span whose name is chosen at
//! run time, anywhere in a function; [`SpanBuilder::enter`], [`SpanBuilder::in_scope`] and
//! [`SpanBuilder::instrument`] start it. The span behaves as the macros' spans do: its parent
//! is the current span, a panic or [`Entered::record_error`] marks it failed, and sampling and
//! the segment rules are the same.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::handle::{Span, SyncSpan};
use super::{ErrorInfo, Instrumented, ParentContext, SpanContext, SpanKind};
use crate::propagation::{self, Extractor, Injector};
use crate::tag::{OwnedTag, TagKey};

/// Marks a [`SpanBuilder`] of an in-process span ([`local`]).
#[derive(Debug)]
pub struct Local(());

/// Marks a [`SpanBuilder`] of a server-side span ([`entry`]): it may continue a caller's
/// context read with [`SpanBuilder::headers`].
#[derive(Debug)]
pub struct Entry(());

/// Marks a [`SpanBuilder`] of a client-side span ([`exit`]): it may write its context into an
/// outgoing request with [`SpanBuilder::inject`].
#[derive(Debug)]
pub struct Exit(());

/// An in-process span named `name` (the macro form is `#[local]`).
#[inline]
pub fn local(name: impl Into<Cow<'static, str>>) -> SpanBuilder<'static, Local> {
    SpanBuilder::new(name.into(), SpanKind::Local, None)
}

/// A server-side span named `name` (the macro form is `#[entry]`): what a handler of an
/// incoming request or message opens. Give it the request's headers with
/// [`headers`](SpanBuilder::headers) to continue the caller's trace.
pub fn entry(name: impl Into<Cow<'static, str>>) -> SpanBuilder<'static, Entry> {
    SpanBuilder::new(name.into(), SpanKind::Entry, None)
}

/// A client-side span named `name` calling `peer` (the macro form is `#[exit(peer = ..)]`):
/// what an outgoing request opens. Give it the request's headers with
/// [`inject`](SpanBuilder::inject) so the callee continues the trace.
pub fn exit(name: impl Into<Cow<'static, str>>, peer: impl fmt::Display) -> SpanBuilder<'static, Exit> {
    // Formatted only when it can be recorded: a disabled span costs no allocation.
    let peer = crate::state::current().map(|_| peer.to_string());
    SpanBuilder::new(name.into(), SpanKind::Exit, peer)
}

/// A span not started yet: its name, kind, tags and, for entry and exit spans, the carrier of
/// its context. `Send`, so it can be made on one thread and started on another. `'c` is the
/// borrow of the carrier given to [`inject`](Self::inject).
#[must_use = "a span starts with .enter(), .in_scope(..) or .instrument(..)"]
pub struct SpanBuilder<'c, Kind> {
    name: Cow<'static, str>,
    kind: SpanKind,
    peer: Option<String>,
    tags: Vec<OwnedTag>,
    /// Boxed: a span description stays small to move, and only entry spans given headers
    /// carry one.
    remote: Option<Box<ParentContext>>,
    carrier: Option<&'c mut (dyn Injector + Send)>,
    marker: PhantomData<Kind>,
}

impl<Kind> fmt::Debug for SpanBuilder<'_, Kind> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanBuilder")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("peer", &self.peer)
            .field("tags", &self.tags.len())
            .field("continues_remote", &self.remote.is_some())
            .field("injects", &self.carrier.is_some())
            .finish()
    }
}

impl<Kind> SpanBuilder<'_, Kind> {
    #[inline]
    fn new(name: Cow<'static, str>, kind: SpanKind, peer: Option<String>) -> Self {
        Self { name, kind, peer, tags: Vec::new(), remote: None, carrier: None, marker: PhantomData }
    }

    /// Sets a tag of the declared key `K` (see [`tags!`](crate::tags)); a value of another type
    /// is a type error at the value, as in the macros' `tags(..)`.
    pub fn tag<K: TagKey>(mut self, value: K::Value) -> Self {
        if crate::state::current().is_some() {
            self.tags.push(OwnedTag::new::<K>(value));
        }
        self
    }

    /// Starts the span, current on this thread until the returned guard is ended or dropped.
    /// The guard stays on this thread; to cover a future, see [`instrument`](Self::instrument).
    #[inline]
    pub fn enter(self) -> Entered {
        Entered { span: SyncSpan::entering(self.start()), not_send: PhantomData }
    }

    /// Runs `f` inside the span; a panic in `f` ends it as failed.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let entered = self.enter();
        let output = f();
        entered.end();
        output
    }

    /// Makes the span cover `future`: it starts now, is current on every poll wherever the
    /// future runs, and ends when the future completes or is dropped.
    pub fn instrument<F: Future>(self, future: F) -> SpanFuture<F> {
        SpanFuture { inner: Instrumented::new(self.start(), future) }
    }

    #[inline]
    fn start(self) -> Span {
        let mut span = match self.remote {
            Some(remote) => Span::start_remote(self.name, self.kind, *remote),
            None => Span::start_under(self.name, self.kind, None),
        };
        if let Some(peer) = self.peer {
            span.set_peer(peer);
        }
        for tag in self.tags {
            span.set_tag(tag.meta, tag.value);
        }
        if let Some(carrier) = self.carrier {
            span.inject(carrier);
        }
        span
    }
}

impl SpanBuilder<'_, Entry> {
    /// Continues the caller's trace found in an incoming request's `carrier`, read with the
    /// configured propagators. Without a valid context (malformed headers are counted in
    /// [`stats`](crate::stats)) the span starts under the current span, or a new trace.
    pub fn headers<C: Extractor + ?Sized>(mut self, carrier: &C) -> Self {
        if crate::state::current().is_some() {
            self.remote = propagation::extract_parent(carrier).map(Box::new);
        }
        self
    }
}

impl SpanBuilder<'_, Exit> {
    /// Writes the span's context into an outgoing request's `carrier` when it starts, so the
    /// callee continues the trace (an unsampled trace propagates too, flagged as such).
    pub fn inject<'d, C: Injector + Send>(self, carrier: &'d mut C) -> SpanBuilder<'d, Exit> {
        let Self { name, kind, peer, tags, remote, carrier: _, marker } = self;
        SpanBuilder { name, kind, peer, tags, remote, carrier: Some(carrier), marker }
    }
}

/// A span started by [`SpanBuilder::enter`], current on this thread until it is ended or
/// dropped; dropped while a panic unwinds, it ends as failed with the panic's message. Not
/// `Send`: the span is current on the thread that entered it.
#[must_use = "the span ends when the guard is ended or dropped"]
#[derive(Debug)]
pub struct Entered {
    span: SyncSpan,
    not_send: PhantomData<*const ()>,
}

impl Entered {
    /// Whether the span is being recorded (spanscope on, the trace sampled, the segment not
    /// full).
    pub fn is_recording(&self) -> bool {
        self.span.is_recording()
    }

    /// Sets a tag of the declared key `K`.
    pub fn tag<K: TagKey>(&mut self, value: K::Value) {
        self.span.tag::<K>(value);
    }

    /// Logs a timestamped event on the span.
    pub fn log(&mut self, message: impl Into<Cow<'static, str>>) {
        self.span.log(message.into());
    }

    /// Marks the span as failed with `error`, logged as an `exception` event.
    pub fn record_error(&mut self, error: ErrorInfo) {
        self.span.record_error(error);
    }

    /// The span's ids; for a span that does not record, those of the unsampled span current
    /// here, if any.
    pub fn context(&self) -> Option<SpanContext> {
        self.span.context()
    }

    /// Ends the span now (dropping the guard does the same).
    #[inline]
    pub fn end(self) {
        self.span.finish(|| None);
    }
}

/// A future covered by a span: see [`SpanBuilder::instrument`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct SpanFuture<F> {
    inner: Instrumented<F>,
}

impl<F: Future> Future for SpanFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and
        // `SpanFuture` has no `Drop` that could move it.
        let inner = unsafe { self.map_unchecked_mut(|this| &mut this.inner) };
        inner.poll(cx).map(|(output, span)| {
            span.finish(|| None);
            output
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_are_send_and_guards_are_not() {
        fn send<T: Send>() {}
        send::<SpanBuilder<'static, Local>>();
        send::<SpanBuilder<'static, Entry>>();
        send::<SpanBuilder<'_, Exit>>();
        send::<SpanFuture<std::future::Ready<()>>>();
        // `Entered` is `!Send` through its `PhantomData<*const ()>`; a compile-fail case in
        // ui-tests pins that.
    }
}
