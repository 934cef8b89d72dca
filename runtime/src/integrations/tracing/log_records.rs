//! `tracing` events as log records: the filter deciding which spans and events the layer sees,
//! and the record each event becomes.
//!
//! The filter is a per-layer filter: what it turns away is turned away for spanscope only (other
//! layers, `fmt` included, still see it), and since the filter does not change while a run
//! lasts, its answer is cached in the call site: a filtered-out event or span costs the `tracing`
//! macro's check of that cache.

use std::borrow::Cow;
use std::fmt;

use tracing_core::field::{Field, Visit};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, Metadata};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};

use crate::logs::{self, Level, Location, Name, Origin, Value};

/// The spans and events spanscope sees: those `SPANSCOPE_LOGS_FILTER` passes, by level and
/// target, while spanscope runs. (Libraries' `trace!`-level spans, h2's and tokio's, are not
/// bridged by default.)
#[derive(Debug, Clone, Copy, Default)]
pub struct BridgeFilter {
    _private: (),
}

impl BridgeFilter {
    pub(super) fn new() -> Self {
        Self { _private: () }
    }

    fn passes(metadata: &Metadata<'_>) -> bool {
        crate::state::logs().is_some_and(|run| run.filter.passes(level(*metadata.level()), metadata.target()))
    }
}

impl<S> Filter<S> for BridgeFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        Self::passes(metadata)
    }

    /// The run's filter is fixed from `init` to shutdown, which rebuild every call site's
    /// cached interest.
    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if Self::passes(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    /// The most verbose level the filter passes anywhere (nothing before `init`): `tracing`'s
    /// macros compare with it before anything else, so a `debug!` under an `info` filter stops
    /// there when no other layer wants it.
    fn max_level_hint(&self) -> Option<LevelFilter> {
        let max = crate::state::logs().and_then(|run| run.filter.max_level());
        Some(match max {
            None => LevelFilter::OFF,
            Some(Level::Error) => LevelFilter::ERROR,
            Some(Level::Warn) => LevelFilter::WARN,
            Some(Level::Info) => LevelFilter::INFO,
            Some(Level::Debug) => LevelFilter::DEBUG,
            Some(Level::Trace) => LevelFilter::TRACE,
        })
    }
}

pub(super) fn level(level: tracing_core::Level) -> Level {
    match level {
        tracing_core::Level::ERROR => Level::Error,
        tracing_core::Level::WARN => Level::Warn,
        tracing_core::Level::INFO => Level::Info,
        tracing_core::Level::DEBUG => Level::Debug,
        _ => Level::Trace,
    }
}

/// Makes and queues the log record of `event`, if logs are exported and its call site's rate
/// limit admits it.
pub(super) fn record(event: &Event<'_>) {
    let metadata = event.metadata();
    let location = metadata.file().map(|file| Location { file: Cow::Borrowed(file), line: metadata.line() });
    let callsite = std::ptr::from_ref(metadata) as usize;
    // The layer's filter passed the event already (see `BridgeFilter`); the fields are the
    // most attributes it adds (the message among them is the body).
    let fields = metadata.fields().len();
    let origin = Origin {
        level: level(*metadata.level()),
        target: Cow::Borrowed(metadata.target()),
        location,
        callsite,
        attributes: fields,
    };
    let Some(mut draft) = logs::draft_passed(origin) else { return };
    event.record(&mut RecordFields(&mut draft));
    draft.submit();
}

/// Writes an event's `message` as the body and its other fields as attributes.
struct RecordFields<'a>(&'a mut logs::Draft);

impl RecordFields<'_> {
    fn value(&mut self, field: &Field, value: Value<'_>) {
        self.0.attribute(Name::Static(field.name()), value);
    }
}

impl Visit for RecordFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.value(field, Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.value(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.value(field, Value::U64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.value(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.set_body(value);
        } else {
            self.value(field, Value::Str(value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.formatted_attribute(Name::Static(field.name()), |out| write!(out, "{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0.write_body(|out| write!(out, "{value:?}"));
        } else {
            self.0.formatted_attribute(Name::Static(field.name()), |out| write!(out, "{value:?}"));
        }
    }
}
