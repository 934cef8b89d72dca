//! W3C Baggage: key-value entries that travel with a trace, and the `baggage` field.
//!
//! `key=value;property;property=value,...`: keys are HTTP tokens, values are percent-decoded,
//! properties are kept as written and forwarded. At most 64 entries and 8192 bytes travel;
//! entries past either limit are dropped and counted, and a malformed entry is skipped and
//! counted without losing the others. SkyWalking's `sw8-correlation` entries merge into the same
//! set (see `sw8.rs`).

use std::fmt;

use super::{Extractor, Injector};
use crate::stats::{self, Counter};

pub(crate) const BAGGAGE: &str = "baggage";
/// W3C limits on what one `baggage` field may carry.
const MAX_ENTRIES: usize = 64;
const MAX_BYTES: usize = 8192;

/// The baggage of a trace: ordered entries with unique keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baggage {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    /// W3C properties, as written after the value (without the leading `;`).
    properties: String,
}

/// Why a baggage entry could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaggageError {
    /// No span is current on this thread, so there is no trace to carry the entry.
    NoCurrentSpan,
    /// The key is not an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``).
    InvalidKey,
    /// The trace already carries 64 entries or 8192 bytes of baggage.
    Full,
}

impl fmt::Display for BaggageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCurrentSpan => "no span is current on this thread",
            Self::InvalidKey => "baggage keys must be HTTP tokens",
            Self::Full => "the trace carries the most baggage W3C allows (64 entries, 8192 bytes)",
        })
    }
}

impl std::error::Error for BaggageError {}

impl Baggage {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.key == key).map(|e| e.value.as_str())
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|e| (e.key.as_str(), e.value.as_str()))
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Sets `key` to `value`, replacing an existing entry of that key.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<(), BaggageError> {
        let key = key.into();
        if !is_token(key.as_bytes()) {
            return Err(BaggageError::InvalidKey);
        }
        self.insert_entry(Entry { key, value: value.into(), properties: String::new() }, true)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let index = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(index).value)
    }

    /// Adds an entry within the limits; an existing key is replaced only if `replace`.
    fn insert_entry(&mut self, entry: Entry, replace: bool) -> Result<(), BaggageError> {
        if let Some(existing) = self.entries.iter_mut().find(|e| e.key == entry.key) {
            if replace {
                *existing = entry;
            }
            return Ok(());
        }
        if self.entries.len() >= MAX_ENTRIES || self.encoded_len() + encoded_len(&entry) + 1 > MAX_BYTES {
            return Err(BaggageError::Full);
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Adds an entry that came in a header, unless its key is already there; counts what the
    /// limits drop.
    pub(crate) fn merge(&mut self, key: String, value: String) {
        self.merge_entry(Entry { key, value, properties: String::new() });
    }

    fn merge_entry(&mut self, entry: Entry) {
        if self.insert_entry(entry, false).is_err() {
            stats::add(Counter::BaggageEntriesDropped, 1);
        }
    }

    fn encoded_len(&self) -> usize {
        self.entries.iter().map(|e| encoded_len(e) + 1).sum::<usize>().saturating_sub(1)
    }
}

fn encoded_len(entry: &Entry) -> usize {
    let value: usize = entry.value.bytes().map(|b| if is_value_octet(b) { 1 } else { 3 }).sum();
    entry.key.len() + 1 + value + if entry.properties.is_empty() { 0 } else { entry.properties.len() + 1 }
}

/// RFC 9110 `tchar`.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// W3C `baggage-octet`: printable ASCII except space, `"`, `,`, `;`, `\` (and `%`, which we
/// always encode so decoding is unambiguous).
fn is_value_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x24 | 0x26..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn percent_decode(bytes: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let digit = |b: u8| (b as char).to_digit(16);
                out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
                i += 3;
            }
            b if is_value_octet(b) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// Parses one list member: `key = value *( ; property )`.
fn parse_member(member: &[u8]) -> Option<Entry> {
    let (pair, properties) = match member.iter().position(|&b| b == b';') {
        Some(i) => (&member[..i], trim(&member[i + 1..])),
        None => (member, &[][..]),
    };
    let eq = pair.iter().position(|&b| b == b'=')?;
    let key = trim(&pair[..eq]);
    if !is_token(key) {
        return None;
    }
    let value = percent_decode(trim(&pair[eq + 1..]))?;
    let properties = std::str::from_utf8(properties).ok()?;
    if !properties.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b',') {
        return None;
    }
    Some(Entry { key: String::from_utf8(key.to_vec()).ok()?, value, properties: properties.to_owned() })
}

/// Adds the entries of every `baggage` field of `carrier` to `baggage`.
pub(crate) fn extract<C: Extractor + ?Sized>(carrier: &C, baggage: &mut Baggage) {
    for field in carrier.values(BAGGAGE) {
        for member in field.split(|&b| b == b',') {
            let member = trim(member);
            if member.is_empty() {
                continue;
            }
            match parse_member(member) {
                Some(entry) => baggage.merge_entry(entry),
                None => stats::add(Counter::BaggageMalformed, 1),
            }
        }
    }
}

/// Writes `baggage` as one `baggage` field.
pub(crate) fn inject<C: Injector + ?Sized>(baggage: &Baggage, carrier: &mut C) {
    if baggage.is_empty() {
        return;
    }
    let mut out = String::with_capacity(baggage.encoded_len());
    for (i, entry) in baggage.entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&entry.key);
        out.push('=');
        for b in entry.value.bytes() {
            if is_value_octet(b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        if !entry.properties.is_empty() {
            out.push(';');
            out.push_str(&entry.properties);
        }
    }
    carrier.set(BAGGAGE, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(header: &str) -> Baggage {
        let carrier = HashMap::from([("baggage".to_owned(), header.to_owned())]);
        let mut baggage = Baggage::default();
        extract(&carrier, &mut baggage);
        baggage
    }

    #[test]
    fn parses_the_spec_examples() {
        let b = parse("key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue");
        assert_eq!(b.iter().collect::<Vec<_>>(), [("key1", "value1"), ("key2", "value2"), ("key3", "value3")]);
        assert_eq!(b.entries[0].properties, "property1;property2");
        let b = parse("userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false");
        assert_eq!(b.get("userId"), Some("Amélie"));
        assert_eq!(b.get("serverNode"), Some("DF 28"));
    }

    #[test]
    fn round_trips_through_the_field() {
        let mut b = Baggage::default();
        b.insert("user.id", "Amélie, 100%; \"quoted\"").unwrap();
        b.insert("tier", "gold").unwrap();
        let mut carrier = HashMap::new();
        inject(&b, &mut carrier);
        assert_eq!(parse(&carrier["baggage"]), b);
    }

    #[test]
    fn malformed_members_are_skipped_not_fatal() {
        let b = parse("good=1,bad key=2,=3,noequals,worse=%zz,ok=2");
        assert_eq!(b.iter().collect::<Vec<_>>(), [("good", "1"), ("ok", "2")]);
    }

    #[test]
    fn limits_drop_the_excess() {
        let many: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse(&many.join(",")).len(), 64);
        let big = format!("a={},b={},c=1", "x".repeat(5000), "y".repeat(5000));
        let b = parse(&big);
        assert_eq!(b.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "c"]);
        let mut full = Baggage::default();
        for i in 0..64 {
            full.insert(format!("k{i}"), "v").unwrap();
        }
        assert_eq!(full.insert("one-more", "v"), Err(BaggageError::Full));
        assert_eq!(full.insert("bad key", "v"), Err(BaggageError::InvalidKey));
    }
}
