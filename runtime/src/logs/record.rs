//! A log record as it travels to the exporters.
//!
//! A record holds what every backend needs and nothing formatted for one: the raw tick (turned
//! into Unix time on the reporter thread), the level, the body, the attributes with their typed
//! values, the target (the logger's name: OpenTelemetry's instrumentation scope), the code
//! location, and the identity of the span it was made in, sampled or not.
//!
//! The body, the string values and the keys made at run time live back to back in one string,
//! so that a record costs two allocations (that text and the attribute list) however many
//! strings it carries; the exporters read them through [`LogRecord::body`] and
//! [`LogRecord::attributes`].

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::config::log_level::Level;
use crate::span::current::LogIdentity;

/// One log record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogRecord {
    /// When it was made, in raw clock ticks (the time it was observed too: the bridges see
    /// records as they are made).
    pub tick: u64,
    pub level: Level,
    /// The logger: a `log` target, a `tracing` target (the module path by default).
    pub target: Cow<'static, str>,
    pub location: Option<Location>,
    /// Attributes left off beyond the count limit.
    pub dropped_attributes: u32,
    /// The span it was made in, if any.
    pub span: Option<LogIdentity>,
    /// The body and every string the attributes hold.
    text: Box<str>,
    body: Piece,
    /// Fields of the record, then the `#[profiled]` tags current where it was made.
    attributes: Vec<(Key, Stored)>,
}

/// Where in the code a record was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// `code.file.path`.
    pub file: Cow<'static, str>,
    /// `code.line.number`.
    pub line: Option<u32>,
}

/// A stretch of a record's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Piece {
    start: u32,
    end: u32,
}

impl Piece {
    /// The stretch `range` of a text, which is at most `u32::MAX` bytes (records are bounded far
    /// below).
    pub(crate) fn of(range: Range<usize>) -> Self {
        let at = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        Self { start: at(range.start), end: at(range.end) }
    }

    fn of_text(self, text: &str) -> &str {
        text.get(self.start as usize..self.end as usize).unwrap_or_default()
    }
}

/// An attribute's key: a name known at compile time, or one in the record's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Static(&'static str),
    Text(Piece),
}

/// An attribute's value as the record keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stored {
    Text(Piece),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

/// An attribute's value, borrowed from its record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(text) => f.write_str(text),
            Self::I64(v) => write!(f, "{v}"),
            Self::U64(v) => write!(f, "{v}"),
            Self::F64(v) => write!(f, "{v}"),
            Self::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl LogRecord {
    /// A record with no body and no attribute yet, room for `attributes` of them.
    pub(crate) fn new(tick: u64, level: Level, target: Cow<'static, str>, attributes: usize) -> Self {
        Self {
            tick,
            level,
            target,
            location: None,
            dropped_attributes: 0,
            span: None,
            text: Box::default(),
            body: Piece::default(),
            attributes: Vec::with_capacity(attributes),
        }
    }

    pub(crate) fn body(&self) -> &str {
        self.body.of_text(&self.text)
    }

    /// The attributes, in the order they were added.
    pub(crate) fn attributes(&self) -> impl ExactSizeIterator<Item = (&str, Value<'_>)> {
        self.attributes.iter().map(|(key, value)| {
            let key = match key {
                Key::Static(key) => key,
                Key::Text(piece) => piece.of_text(&self.text),
            };
            let value = match *value {
                Stored::Text(piece) => Value::Str(piece.of_text(&self.text)),
                Stored::I64(v) => Value::I64(v),
                Stored::U64(v) => Value::U64(v),
                Stored::F64(v) => Value::F64(v),
                Stored::Bool(v) => Value::Bool(v),
            };
            (key, value)
        })
    }

    /// How many attributes it holds.
    pub(crate) fn attribute_count(&self) -> usize {
        self.attributes.len()
    }

    /// Adds an attribute whose text, if any, is already in the text being built.
    pub(super) fn push_attribute(&mut self, key: Key, value: Stored) {
        self.attributes.push((key, value));
    }

    /// Reserves room for `more` attributes.
    pub(super) fn reserve(&mut self, more: usize) {
        self.attributes.reserve(more);
    }

    /// Sets the text the pieces refer to, and the body's piece of it.
    pub(super) fn set_text(&mut self, text: &str, body: Piece) {
        self.text = text.into();
        self.body = body;
    }

    /// A record with `body` and `attributes`, for the exporters' tests.
    #[cfg(test)]
    pub(crate) fn of(body: &str, attributes: &[(&'static str, crate::tag::TagValue)]) -> Self {
        use crate::tag::TagValue;
        let mut text = String::from(body);
        let mut record = Self::new(0, Level::Info, Cow::Borrowed("app"), attributes.len());
        for (key, value) in attributes {
            let stored = match value {
                TagValue::Str(value) => {
                    let start = text.len();
                    text.push_str(value);
                    Stored::Text(Piece::of(start..text.len()))
                }
                TagValue::I64(v) => Stored::I64(*v),
                TagValue::U64(v) => Stored::U64(*v),
                TagValue::F64(v) => Stored::F64(*v),
                TagValue::Bool(v) => Stored::Bool(*v),
            };
            record.push_attribute(Key::Static(key), stored);
        }
        record.set_text(&text, Piece::of(0..body.len()));
        record
    }
}
