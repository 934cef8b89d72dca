//! The draft a bridge fills in: a record being made, kept within the run's limits while it is
//! written, then queued.
//!
//! Everything a record says in text (the body, string values, keys made at run time) is written
//! into the thread's scratch string, each piece cut at its limit as it is written, and copied out
//! once, at its size, when the record is queued: one allocation for all of it.

use std::cell::Cell;
use std::fmt;

use crate::logs::record::{Key, LogRecord, Piece, Stored, Value};
use crate::state::LogRun;
use crate::stats::{self, Counter};
use crate::tag::TagValue;

/// An attribute's name as a bridge gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Name<'a> {
    /// Known at compile time (a `tracing` field, a tag key): kept as it is.
    Static(&'static str),
    /// Made at run time (a `log` key): copied into the record's text.
    Copied(&'a str),
}

/// A record being filled in by a bridge; [`submit`](Draft::submit) queues it. Application code
/// (`Display` and `Debug` of the values) runs while it is filled, with no lock held.
#[derive(Debug)]
pub(crate) struct Draft {
    record: LogRecord,
    run: &'static LogRun,
    /// The record's text so far: the thread's scratch string, taken (a `Display` that logs
    /// while it is written finds an empty one and makes its own).
    text: String,
    body: Piece,
    truncated: bool,
}

impl Draft {
    pub(super) fn new(run: &'static LogRun, record: LogRecord) -> Self {
        let mut text = SCRATCH.try_with(Cell::take).unwrap_or_default();
        text.clear();
        Self { record, run, text, body: Piece::default(), truncated: false }
    }

    /// Sets the body to what `write` writes, cut at the body limit.
    pub(crate) fn write_body(&mut self, write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        self.body = self.write_piece(self.run.limits.body, write);
    }

    /// Sets the body to `text`, cut at the body limit.
    pub(crate) fn set_body(&mut self, text: &str) {
        self.body = self.push_piece(text, self.run.limits.body);
    }

    /// Adds an attribute; past the count limit it is counted and left off. A string value is
    /// cut at the value limit.
    pub(crate) fn attribute(&mut self, name: Name<'_>, value: Value<'_>) {
        let Some(key) = self.key(name) else { return };
        let stored = match value {
            Value::Str(text) => Stored::Text(self.push_piece(text, self.run.limits.value)),
            Value::I64(v) => Stored::I64(v),
            Value::U64(v) => Stored::U64(v),
            Value::F64(v) => Stored::F64(v),
            Value::Bool(v) => Stored::Bool(v),
        };
        self.record.push_attribute(key, stored);
    }

    /// Adds an attribute whose value is what `write` writes, cut at the value limit while it
    /// is written (a `Debug` of any size takes bounded memory).
    pub(crate) fn formatted_attribute(
        &mut self,
        name: Name<'_>,
        write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
    ) {
        let Some(key) = self.key(name) else { return };
        let value = self.write_piece(self.run.limits.value, write);
        self.record.push_attribute(key, Stored::Text(value));
    }

    /// The key of one more attribute, or `None` (counted) past the count limit.
    fn key(&mut self, name: Name<'_>) -> Option<Key> {
        if self.record.attribute_count() >= self.run.limits.attributes {
            self.record.dropped_attributes = self.record.dropped_attributes.saturating_add(1);
            return None;
        }
        Some(match name {
            Name::Static(name) => Key::Static(name),
            Name::Copied(name) => Key::Text(self.push_piece(name, usize::MAX)),
        })
    }

    /// Appends `text` cut at `limit` characters; its piece.
    fn push_piece(&mut self, text: &str, limit: usize) -> Piece {
        let end = cut_point(text, limit);
        self.truncated |= end.is_some();
        let start = self.text.len();
        self.text.push_str(&text[..end.unwrap_or(text.len())]);
        Piece::of(start..self.text.len())
    }

    /// Appends what `write` writes, cut at `limit` characters while it is written; its piece.
    fn write_piece(&mut self, limit: usize, write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) -> Piece {
        let start = self.text.len();
        let mut bounded = Bounded { text: &mut self.text, start, limit, overflowed: false };
        // A `Display` that fails leaves what it wrote: a record is never lost to formatting.
        let _ = write(&mut bounded);
        let overflowed = bounded.overflowed;
        if let Some(end) = cut_point(&self.text[start..], limit) {
            self.text.truncate(start + end);
            self.truncated = true;
        }
        self.truncated |= overflowed;
        Piece::of(start..self.text.len())
    }

    /// Queues the record, with the `#[profiled]` tags current here as attributes; drops and
    /// counts it when the queue is full or spanscope has shut down.
    pub(crate) fn submit(mut self) {
        let tags = crate::profiler::tag_state::current_tags();
        self.record.reserve(tags.len());
        for (key, value) in &tags {
            let value = match value {
                TagValue::Str(text) => Value::Str(text),
                TagValue::I64(v) => Value::I64(*v),
                TagValue::U64(v) => Value::U64(*v),
                TagValue::F64(v) => Value::F64(*v),
                TagValue::Bool(v) => Value::Bool(*v),
            };
            self.attribute(Name::Static(key), value);
        }
        if self.truncated {
            stats::add(Counter::LogRecordsTruncated, 1);
        }
        if self.record.dropped_attributes > 0 {
            stats::add(Counter::LogAttributesDropped, u64::from(self.record.dropped_attributes));
        }
        let Self { mut record, text, body, .. } = self;
        record.set_text(&text, body);
        if text.capacity() <= MAX_SCRATCH {
            let _ = SCRATCH.try_with(|scratch| scratch.set(text));
        }
        super::queue::submit(record);
    }
}

thread_local! {
    /// Where a record's text is written before being copied out at its size.
    static SCRATCH: Cell<String> = const { Cell::new(String::new()) };
}

/// The largest scratch string a thread keeps: a huge message's buffer is not held on to.
const MAX_SCRATCH: usize = 4096;

/// A piece of text being written at the end of a string from `start`, kept to `limit`
/// characters: what is written beyond about four times that many bytes is not stored, so memory
/// stays bounded whatever the writer writes.
struct Bounded<'a> {
    text: &'a mut String,
    start: usize,
    limit: usize,
    overflowed: bool,
}

impl fmt::Write for Bounded<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Up to 4 bytes a character: past this many bytes, `limit` characters are surely stored.
        let written = self.text.len() - self.start;
        let room = self.limit.saturating_mul(4).saturating_add(4).saturating_sub(written);
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            self.text.push_str(&s[..floor_char_boundary(s, room)]);
            self.overflowed = true;
        }
        Ok(())
    }
}

/// Where to cut `text` to keep `limit` characters, if it has more. A string of at most `limit`
/// bytes has at most `limit` characters: only longer ones are counted.
fn cut_point(text: &str, limit: usize) -> Option<usize> {
    if text.len() <= limit {
        return None;
    }
    text.char_indices().nth(limit).map(|(end, _)| end)
}

/// The largest character boundary of `s` at or below `index`.
fn floor_char_boundary(s: &str, index: usize) -> usize {
    let mut index = index.min(s.len());
    while !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_characters_never_inside_one() {
        assert_eq!(cut_point("héllo wörld", 2), Some(3), "after the second character");
        assert_eq!(cut_point("héllo", 5), None, "5 characters in 6 bytes fit a limit of 5");
        let mut text = String::from("before");
        let mut bounded = Bounded { text: &mut text, start: 6, limit: 3, overflowed: false };
        for _ in 0..1000 {
            fmt::Write::write_str(&mut bounded, "ééé").unwrap();
        }
        assert!(bounded.overflowed);
        assert!(text.len() <= 6 + 16, "stored {} bytes", text.len());
        assert_eq!(cut_point(&text[6..], 3).map(|end| &text[6..6 + end]), Some("ééé"));
    }
}
