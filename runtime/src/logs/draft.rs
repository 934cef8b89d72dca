//! The draft a bridge fills in: a record being made, kept within the run's limits while it is
//! written, then queued.

use std::borrow::Cow;
use std::cell::Cell;
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

    /// Sets the body to what `write` writes, cut at the body limit. It is written into this
    /// thread's scratch string, then copied into one allocation of its size: a message written
    /// piece by piece would otherwise grow its string several times.
    pub(crate) fn write_body(&mut self, write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        // Taken, not borrowed: a `Display` that logs while it is written finds an empty one.
        let scratch = SCRATCH.try_with(Cell::take).unwrap_or_default();
        let mut body = Bounded::new(scratch, self.run.limits.body);
        // A `Display` that fails leaves what it wrote: a record is never lost to formatting.
        let _ = write(&mut body);
        let (text, cut) = body.finish();
        self.truncated |= cut;
        self.record.body = text.as_str().to_owned();
        if text.capacity() <= MAX_SCRATCH {
            let _ = SCRATCH.try_with(|scratch| scratch.set(text));
        }
    }

    /// Sets the body to `text`, cut at the body limit.
    pub(crate) fn set_body(&mut self, text: &str) {
        let end = cut_point(text, self.run.limits.body);
        self.truncated |= end.is_some();
        self.record.body = text[..end.unwrap_or(text.len())].to_owned();
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
        let (value, cut) = text.finish();
        self.truncated |= cut;
        self.record.attributes.push((key, TagValue::Str(Cow::Owned(value))));
    }

    /// Queues the record, with the `#[profiled]` tags current here as attributes; drops and
    /// counts it when the queue is full or spanscope has shut down.
    pub(crate) fn submit(mut self) {
        let tags = crate::profiler::tag_state::current_tags();
        self.record.attributes.reserve(tags.len());
        for (key, value) in tags {
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

thread_local! {
    /// Where bodies are written before being copied out at their size.
    static SCRATCH: Cell<String> = const { Cell::new(String::new()) };
}

/// The largest scratch string a thread keeps: a huge message's buffer is not held on to.
const MAX_SCRATCH: usize = 4096;

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

    /// The text, cut at the limit, and whether anything was cut.
    fn finish(mut self) -> (String, bool) {
        let cut = cut_point(&self.text, self.limit).map(|end| self.text.truncate(end)).is_some() || self.overflowed;
        (self.text, cut)
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
        assert_eq!(bounded.finish(), ("ééé".to_owned(), true));
    }
}
