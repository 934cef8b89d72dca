//! The `tracing` bridge (feature `tracing`): library code instrumented with `tracing` shows
//! up in spanscope traces and in the profiler's span labels, and its events are exported as log
//! records correlated with their spans.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! tracing_subscriber::registry().with(spanscope::tracing::layer()).init();
//! ```
//!
//! The layer comes with its own per-layer filter ([`BridgeFilter`]): spans and events
//! `SPANSCOPE_LOGS_FILTER` turns away (`debug` and `trace` levels by default; the syntax is
//! `RUST_LOG`'s) never reach spanscope (neither as spans, log records nor span events), while
//! the other layers (`fmt`) still see them; the answer is cached in each call site, so such a
//! span or event costs `tracing`'s check of that cache. So libraries' `trace`-level spans (h2,
//! tokio) are not bridged unless asked for (`SPANSCOPE_LOGS_FILTER=info,h2=trace`).
//!
//! # What becomes what
//! - A `tracing` span created while a sampled spanscope segment is installed on the thread
//!   (inside an `#[entry]`, `#[local]`, ... span, or a span of another integration) becomes a
//!   local span under the current spanscope span (or under its explicit `parent:` when that
//!   span is bridged in the same segment). It starts when the `tracing` span is created and
//!   ends when it closes (its last handle is dropped). Anywhere else nothing is recorded: the
//!   cost is a thread-local check.
//! - Entering it makes it spanscope's current span, so `#[local]` spans, `spanscope::current()`
//!   and the profiler's span labels inside it see it; exiting restores the span current before.
//!   Entered on a thread or task where its segment is not installed (a future instrumented with
//!   `.instrument(span)` and spawned with `tokio::spawn`), it is installed as the cross-thread
//!   parent there instead: spanscope spans opened inside begin a segment continuing the trace
//!   under it. Entered where another segment is installed, nothing changes. A `tracing` span
//!   never owns a segment (it may be entered on several threads at once, and closed while a
//!   leaked guard keeps it entered), so `tracing` spans created in such a task are recorded once
//!   a spanscope span is open there (`#[local]` on the task's body).
//! - Fields, at creation and through `record`, become tags named after the field (interned,
//!   bounded: see [`Stats::tag_keys_over_limit`](crate::Stats)); strings, integers, floats and
//!   booleans keep their type, `Debug` and `Display` values are formatted, only for spans that
//!   record. The span's name is the `tracing` span name. Target, level and source location are
//!   not recorded on spans, to keep a bridged span at one record and its fields.
//! - tracing-opentelemetry's special fields mean the same here: `otel.name` renames the span,
//!   `otel.kind` (at creation) makes `server`/`consumer` an entry span, `client`/`producer` an
//!   exit span, anything else local; `otel.status_code = "ERROR"` fails the span, and
//!   `otel.status_description` (or `otel.status_message`) fails it with that message.
//! - Events become log records (when a logs exporter is configured, `OTEL_LOGS_EXPORTER`):
//!   the `message` field is the body, the other fields attributes with their types (`Debug` and
//!   `Display` values formatted, cut at the value limit), the level the severity, the target the
//!   logger's name, the file and line `code.file.path` and `code.line.number`, plus the
//!   `#[profiled]` tags current here; with the trace id, span id and trace flags of the
//!   spanscope span current here, sampled or not (none outside any span). Each call site may
//!   emit `SPANSCOPE_LOGS_RATE_LIMIT` records a second (1000 by default).
//! - In a sampled segment, events also become span events on their explicit parent if it is
//!   bridged in the installed segment, else on the current spanscope span (whether or not a
//!   `tracing` span is entered), named after their `message` (or their event name), with their
//!   other fields plus `level` and `target`. As in tracing-opentelemetry, an `ERROR` event fails the span, and an event with
//!   an `error` field and no message (what `#[instrument(err)]` emits) is logged as an
//!   `exception` with `exception.message`, which becomes the span's status message.
//! - Spans closed or entered away from their segment (another thread, after the segment
//!   ended) change nothing; a bridged span still open when its segment ends is closed then.
//!
//! # Ids on log lines
//! [`SpanExt::spanscope_context`] gives the ids of a `tracing` span (bridged, else the
//! spanscope span current here), e.g. `tracing::Span::current().spanscope_context()`; a
//! `tracing_subscriber::fmt` formatter can print `spanscope::current().trace_id()` on every
//! line to correlate logs with traces.

mod fields;
mod log_records;
mod span_ext;

use std::any::TypeId;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Event, Level, Subscriber};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::id::SegmentId;
use crate::span::current::{self, Current};
use crate::span::{Parent, ParentContext, Span, SpanContext, SpanLog, NO_SPAN};
use crate::tag::TagValue;
use fields::{EventFields, SpanFields, Visitor};

pub use log_records::BridgeFilter;
pub use span_ext::SpanExt;

/// The layer that bridges `tracing` spans and events into spanscope (see the [module](self)),
/// behind its per-layer filter: spans and events `SPANSCOPE_LOGS_FILTER` turns away never reach
/// it, and other layers still see them.
pub fn layer<S>() -> Filtered<SpanscopeLayer<S>, BridgeFilter, S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    SpanscopeLayer { with_bridged: WithBridged(with_bridged::<S>), _subscriber: PhantomData }
        .with_filter(BridgeFilter::new())
}

/// A `tracing_subscriber` layer recording `tracing` spans and events as spanscope spans and
/// logs; made by [`layer`].
pub struct SpanscopeLayer<S> {
    with_bridged: WithBridged,
    _subscriber: PhantomData<fn(S)>,
}

impl<S> fmt::Debug for SpanscopeLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpanscopeLayer")
    }
}

/// What a bridged `tracing` span keeps in its extensions.
struct Bridged {
    span: Span,
    /// The span as the parent of segments begun where it is entered away from its segment;
    /// also its ids, fixed at creation.
    parent: Arc<ParentContext>,
}

impl Bridged {
    fn context(&self) -> SpanContext {
        SpanContext { trace_id: self.parent.trace_id, span_id: self.parent.span_id, sampled: self.parent.sampled }
    }

    /// The span's index, if its segment is `segment`.
    fn index_in(&self, segment: SegmentId) -> Option<u32> {
        self.parent.segment.and_then(|(id, index)| (id == segment).then_some(index))
    }
}

/// Runs a closure on a bridged span, found from the dispatcher and the span's id: how
/// [`SpanExt`] reaches the layer's data without knowing the subscriber's type. The layer hands
/// it out through `downcast_raw`.
struct WithBridged(fn(&Dispatch, &Id, OnBridged<'_>));

/// What [`WithBridged`] runs on a bridged span.
type OnBridged<'a> = &'a mut dyn FnMut(&mut Bridged);

fn with_bridged<S>(dispatch: &Dispatch, id: &Id, f: OnBridged<'_>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = dispatch.downcast_ref::<S>().and_then(|subscriber| subscriber.span(id)) else {
        return;
    };
    let mut extensions = span.extensions_mut();
    if let Some(bridged) = extensions.get_mut::<Bridged>() {
        f(bridged);
    }
}

/// One `on_enter` on this thread that changed the current context, undone by its `on_exit`.
struct Entered {
    id: Id,
    previous: Current,
    /// The context the enter installed: `on_exit` restores `previous` only if it is still the
    /// one installed, so an exit out of order never installs a context that is gone.
    installed: Current,
    /// Keeps the parent context `installed` points to alive while it may be installed.
    parent: Option<Arc<ParentContext>>,
}

/// This thread's enters, innermost last.
struct EnteredSpans(Vec<Entered>);

impl Drop for EnteredSpans {
    /// At thread exit, a context still installed (a span left entered) may point at these
    /// parent contexts, and later thread-local destructors may start spans: they are leaked.
    fn drop(&mut self) {
        for entered in self.0.drain(..) {
            std::mem::forget(entered.parent);
        }
    }
}

thread_local! {
    static ENTERED: RefCell<EnteredSpans> = const { RefCell::new(EnteredSpans(Vec::new())) };
}

/// Whether a sampled segment is installed on this thread: the one check made before anything
/// is recorded.
fn recording_here() -> bool {
    current::with_segment(|segment, _| segment.sampled).unwrap_or(false)
}

/// The installed segment's id.
fn installed_segment() -> Option<SegmentId> {
    current::with_segment(|segment, _| segment.id)
}

impl<S> SpanscopeLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// Where a new span hangs: under its explicit parent if that one is bridged in the
    /// installed segment, else under the current spanscope span.
    fn parent_of(&self, parent: Option<&Id>, ctx: &Context<'_, S>) -> Parent {
        let index = parent.and_then(|id| ctx.span(id)).and_then(|span| {
            let segment = installed_segment()?;
            span.extensions().get::<Bridged>()?.index_in(segment)
        });
        index.map_or(Parent::Current, Parent::InSegment)
    }
}

impl<S> Layer<S> for SpanscopeLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !recording_here() {
            return;
        }
        let mut fields = SpanFields::default();
        attrs.record(&mut Visitor(&mut fields));
        // Checked again after the fields' `Debug` code ran: the span must be a child in the
        // installed segment, never the owner of a segment of its own.
        if !recording_here() {
            return;
        }
        let parent = self.parent_of(attrs.parent(), &ctx);
        let mut span = Span::start_named(attrs.metadata().name(), fields.kind(), parent);
        fields.apply_to(&mut span);
        // `None` when the segment is full and the span is not recorded.
        let Some(parent) = span.parent_context() else {
            return;
        };
        if let Some(data) = ctx.span(id) {
            data.extensions_mut().insert(Bridged { span, parent: Arc::new(parent) });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if !recording_here() {
            return;
        }
        let Some(data) = ctx.span(id) else {
            return;
        };
        if !data.extensions().get::<Bridged>().is_some_and(|bridged| bridged.span.is_recording()) {
            return;
        }
        let mut fields = SpanFields::default();
        values.record(&mut Visitor(&mut fields));
        let mut extensions = data.extensions_mut();
        if let Some(bridged) = extensions.get_mut::<Bridged>() {
            fields.apply_to(&mut bridged.span);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        log_records::record(event);
        if !recording_here() {
            return;
        }
        let explicit = event.parent().and_then(|id| ctx.span(id)).and_then(|span| {
            let segment = installed_segment()?;
            Some((segment, span.extensions().get::<Bridged>()?.index_in(segment)?))
        });
        let mut fields = EventFields::default();
        event.record(&mut Visitor(&mut fields));
        let meta = event.metadata();
        let mut log = fields.into_log(meta.name());
        log.fields.push(("level", TagValue::from(meta.level().as_str())));
        log.fields.push(("target", TagValue::from(meta.target())));
        let failed = log.exception || *meta.level() == Level::ERROR;
        let tick = crate::clock::now();
        current::with_segment(|segment, current| {
            if !segment.sampled {
                return;
            }
            let span = match explicit {
                Some((id, index)) if id == segment.id => index,
                _ => current,
            };
            segment.logs.push(SpanLog { span, tick, name: log.name, fields: log.fields });
            if failed {
                segment.fail_span(span, tick, None);
            }
        });
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if crate::state::current().is_none() {
            return;
        }
        let Some(data) = ctx.span(id) else {
            return;
        };
        let extensions = data.extensions();
        let Some(bridged) = extensions.get::<Bridged>() else {
            return;
        };
        let entered = match bridged.span.enter() {
            Some(previous) => Entered { id: id.clone(), previous, installed: current::get(), parent: None },
            None if current::get().segment.is_null() => {
                let installed =
                    Current { segment: std::ptr::null_mut(), span: NO_SPAN, parent: Arc::as_ptr(&bridged.parent) };
                let previous = current::replace(installed);
                Entered { id: id.clone(), previous, installed, parent: Some(Arc::clone(&bridged.parent)) }
            }
            // Another task's segment is installed here: it is not ours to change.
            None => return,
        };
        let _ = ENTERED.try_with(|entered_spans| entered_spans.borrow_mut().0.push(entered));
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        let _ = ENTERED.try_with(|entered_spans| {
            let entered_spans = &mut entered_spans.borrow_mut().0;
            let Some(position) = entered_spans.iter().rposition(|entered| entered.id == *id) else {
                return;
            };
            let entered = &entered_spans[position];
            let still_installed = current::get() == entered.installed;
            if !still_installed && entered.parent.is_some() {
                // The context changed since the enter without being restored (a leaked guard):
                // what is installed now, or saved to be restored, may still point at this
                // parent context, so it is kept for the thread's life.
                return;
            }
            let entered = entered_spans.remove(position);
            if still_installed {
                current::restore(entered.previous);
            } else if let Some(next) = entered_spans.get_mut(position) {
                // Exited before a span entered after it (guards dropped out of order): that span
                // restores, when it exits, what this one would have. Both are spans of the same
                // segment, so only the current span's index changes.
                if next.previous == entered.installed {
                    next.previous = entered.previous;
                }
            }
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(data) = ctx.span(&id) else {
            return;
        };
        let bridged = data.extensions_mut().remove::<Bridged>();
        if let Some(bridged) = bridged {
            bridged.span.finish(|| None);
        }
    }

    // SAFETY (of the contract): each pointer returned points to a value of the type whose id
    // was asked for, borrowed from `self`.
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == TypeId::of::<WithBridged>() {
            Some(&self.with_bridged as *const WithBridged as *const ())
        } else {
            None
        }
    }
}
