//! Reading `tracing` field values: a span's fields as tags (and the `otel.*` fields
//! tracing-opentelemetry gives a meaning to), an event's fields as a log.
//!
//! Visitors run only for spans and events that record, and never while a segment or a span's
//! extensions are borrowed: `Debug` and `Display` of field values are application code.

use std::borrow::Cow;
use std::fmt;

use tracing_core::field::{Field, Visit};

use crate::span::{ErrorInfo, Span, SpanKind};
use crate::tag::{TagMeta, TagValue};

/// Where a [`Visitor`] puts each field value.
pub(super) trait Sink {
    fn value(&mut self, field: &Field, value: TagValue);
}

/// Reads every field of a span or event into a [`Sink`], as tag values; `Debug` and `Display`
/// values are formatted here.
pub(super) struct Visitor<'a, T>(pub &'a mut T);

impl<T: Sink> Visit for Visitor<'_, T> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.value(field, TagValue::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.value(field, TagValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.value(field, TagValue::U64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.value(field, TagValue::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.value(field, TagValue::Str(Cow::Owned(value.to_owned())));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.value(field, TagValue::Str(Cow::Owned(format!("{value:?}"))));
    }
}

/// What a span's fields say: its tags, and the `otel.*` fields that rename, kind or fail it.
#[derive(Debug, Default)]
pub(super) struct SpanFields {
    tags: Vec<(&'static TagMeta, TagValue)>,
    name: Option<String>,
    kind: Option<SpanKind>,
    /// `otel.status_code = "ERROR"` was seen.
    failed: bool,
    /// `otel.status_description` / `otel.status_message`.
    status_message: Option<String>,
}

impl SpanFields {
    /// The kind `otel.kind` asked for: server and consumer spans are entries, client and
    /// producer spans exits, anything else local.
    pub(super) fn kind(&self) -> SpanKind {
        self.kind.unwrap_or(SpanKind::Local)
    }

    /// Applies the fields to `span` (the kind is fixed when the span starts and not changed).
    pub(super) fn apply_to(self, span: &mut Span) {
        if let Some(name) = self.name {
            span.set_name(name);
        }
        for (meta, value) in self.tags {
            span.set_tag(meta, value);
        }
        match self.status_message {
            Some(message) => span.set_error(Some(ErrorInfo::new("error", message))),
            None if self.failed => span.set_error(None),
            None => {}
        }
    }
}

impl Sink for SpanFields {
    fn value(&mut self, field: &Field, value: TagValue) {
        match (field.name(), value) {
            ("otel.name", value) => self.name = Some(value.to_string()),
            ("otel.kind", value) => {
                let kind = value.to_string();
                self.kind = Some(match kind.to_ascii_lowercase().as_str() {
                    "server" | "consumer" => SpanKind::Entry,
                    "client" | "producer" => SpanKind::Exit,
                    _ => SpanKind::Local,
                });
            }
            ("otel.status_code", value) => self.failed = value.to_string().eq_ignore_ascii_case("error"),
            ("otel.status_description" | "otel.status_message", value) => self.status_message = Some(value.to_string()),
            (name, value) => {
                if let Some(meta) = TagMeta::runtime(name) {
                    self.tags.push((meta, value));
                }
            }
        }
    }
}

/// What an event's fields say: its message, its other fields, and the error it reports.
#[derive(Debug, Default)]
pub(super) struct EventFields {
    message: Option<String>,
    /// The `error` field of an event without a message: what `#[instrument(err)]` emits.
    error: Option<String>,
    fields: Vec<(&'static str, TagValue)>,
}

impl EventFields {
    /// The log this event becomes: named after its message (or `exception` for an error
    /// without a message, or the event's own name), with its other fields. The error it
    /// reports, if any, comes as the `exception.message` field.
    pub(super) fn into_log(mut self, event_name: &'static str) -> EventLog {
        let (name, exception) = match (self.message, self.error) {
            (Some(message), error) => {
                if let Some(error) = error {
                    self.fields.push(("error", TagValue::Str(Cow::Owned(error))));
                }
                (Cow::Owned(message), false)
            }
            (None, Some(error)) => {
                self.fields.push(("exception.message", TagValue::Str(Cow::Owned(error))));
                (Cow::Borrowed("exception"), true)
            }
            (None, None) => (Cow::Borrowed(event_name), false),
        };
        EventLog { name, fields: self.fields, exception }
    }
}

/// The span log an event becomes.
#[derive(Debug)]
pub(super) struct EventLog {
    pub name: Cow<'static, str>,
    pub fields: Vec<(&'static str, TagValue)>,
    /// The event reports an error (an `exception` log): the span fails.
    pub exception: bool,
}

impl Sink for EventFields {
    fn value(&mut self, field: &Field, value: TagValue) {
        match field.name() {
            "message" => self.message = Some(value.to_string()),
            "error" => self.error = Some(value.to_string()),
            name => self.fields.push((name, value)),
        }
    }
}
