//! The draft a bridge fills in: a record being made, kept within the run's limits while it is
//! written, then queued.

use std::borrow::Cow;
use std::fmt;

use crate::logs::record::LogRecord;
use crate::state::LogRun;
use crate::stats::{self, Counter};
use crate::tag::TagValue;

/// A record being filled in by a bridge; [`submit`](Draft::submit) queues it. Application code
/// (`Display` and `Debug` of the values) runs while it is filled, with no lock held.
#[derive(Debug)]
pub(crate) struct Draft {
    record: LogRecord,
    run: &'static LogRun,
    truncated: bool,
}

impl Draft {
    pub(super) fn new(run: &'static LogRun, record: LogRecord) -> Self {
        Self { record, run, truncated: false }
    }

    /// Sets the body to what `write` writes, cut at the body limit.
    pub(crate) fn write_body(&mut self, write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        let mut body = Bounded::new(std::mem::take(&mut self.record.body), self.run.limits.body);
        // A `Display` that fails leaves what it wrote: a record is never lost to formatting.
        let _ = write(&mut body);
        self.truncated |= body.finish(&mut self.record.body);
    }

    /// Sets the body to `text`, cut at the body limit.
    pub(crate) fn set_body(&mut self, text: &str) {
        self.write_body(|out| out.write_str(text));
    }

    /// Adds an attribute; past the count limit it is counted and left off. A string value is
    /// cut at the value limit.
    pub(crate) fn attribute(&mut self, key: Cow<'static, str>, mut value: TagValue) {
        if self.record.attributes.len() >= self.run.limits.attributes {
            self.record.dropped_attributes = self.record.dropped_attributes.saturating_add(1);
            return;
        }
        if let TagValue::Str(text) = &mut value {
            self.truncated |= truncate(text, self.run.limits.value);
        }
        self.record.attributes.push((key, value));
    }

    /// Adds an attribute whose value is what `write` writes, cut at the value limit while it
    /// is written (a `Debug` of any size takes bounded memory).
    pub(crate) fn formatted_attribute(
        &mut self,
        key: Cow<'static, str>,
        write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
    ) {
        if self.record.attributes.len() >= self.run.limits.attributes {
            self.record.dropped_attributes = self.record.dropped_attributes.saturating_add(1);
            return;
        }
        let mut text = Bounded::new(String::new(), self.run.limits.value);
        let _ = write(&mut text);
        let mut value = String::new();
        self.truncated |= text.finish(&mut value);
        self.record.attributes.push((key, TagValue::Str(Cow::Owned(value))));
    }

    /// Queues the record, with the `#[profiled]` tags current here as attributes; drops and
    /// counts it when the queue is full or spanscope has shut down.
    pub(crate) fn submit(mut self) {
        for (key, value) in crate::profiler::tag_state::current_tags() {
            self.attribute(Cow::Borrowed(key), value);
        }
        if self.truncated {
            stats::add(Counter::LogRecordsTruncated, 1);
        }
        if self.record.dropped_attributes > 0 {
            stats::add(Counter::LogAttributesDropped, u64::from(self.record.dropped_attributes));
        }
        super::queue::submit(self.record);
    }
}

/// A string being written, kept to `limit` characters: what is written beyond about four times
/// that many bytes is not stored, so memory stays bounded whatever the writer writes.
struct Bounded {
    text: String,
    limit: usize,
    overflowed: bool,
}

impl Bounded {
    fn new(mut text: String, limit: usize) -> Self {
        text.clear();
        Self { text, limit, overflowed: false }
    }

    /// Moves the text, cut at the limit, into `out`; whether anything was cut.
    fn finish(mut self, out: &mut String) -> bool {
        let cut = cut_point(&self.text, self.limit).map(|end| self.text.truncate(end)).is_some() || self.overflowed;
        *out = self.text;
        cut
    }
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Up to 4 bytes a character: past this many bytes, `limit` characters are surely stored.
        let room = self.limit.saturating_mul(4).saturating_add(4).saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            self.text.push_str(&s[..floor_char_boundary(s, room)]);
            self.overflowed = true;
        }
        Ok(())
    }
}

/// Cuts `text` to at most `limit` characters; whether it was cut.
pub(crate) fn truncate(text: &mut Cow<'static, str>, limit: usize) -> bool {
    cut_point(text, limit).map(|end| text.to_mut().truncate(end)).is_some()
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
        let mut text = Cow::Borrowed("héllo wörld");
        assert!(truncate(&mut text, 2));
        assert_eq!(text, "hé");
        let mut short = Cow::Borrowed("héllo");
        assert!(!truncate(&mut short, 5), "5 characters in 6 bytes fit a limit of 5");
        let mut bounded = Bounded::new(String::new(), 3);
        for _ in 0..1000 {
            fmt::Write::write_str(&mut bounded, "ééé").unwrap();
        }
        assert!(bounded.text.len() <= 16, "stored {} bytes", bounded.text.len());
        let mut out = String::new();
        assert!(bounded.finish(&mut out));
        assert_eq!(out, "ééé");
    }
}
