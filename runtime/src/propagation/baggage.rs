//! W3C Baggage: key-value entries that travel with a trace, and the `baggage` field.
//!
//! `key=value;property;property=value,...`: keys are HTTP tokens, values are percent-decoded,
//! properties are kept as written and forwarded. At most 64 entries and 8192 bytes travel;
//! entries past either limit are dropped and counted, and a malformed entry is skipped and
//! counted without losing the others. SkyWalking's `sw8-correlation` entries merge into the same
//! set (see `sw8`).
//!
//! The `baggage` fields of a request are read up to 64 members and 8192 bytes in all (as if
//! joined with commas), the most W3C lets a sender send: the rest, from the first member past
//! either, is dropped unread and counted as one dropped entry. So a header costs bounded work
//! whatever its length. Each member read costs a few passes over it and a binary search of the
//! keys: the length of the entries written out and the order of their keys are kept as entries
//! come and go, never recomputed. An entry written out is never longer than the member it was
//! read from, so what is read always fits the 8192 bytes that travel.

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
    /// In the order they were added, the order they travel in.
    entries: Vec<Entry>,
    /// Indices of `entries` in the order of their keys, for a binary search.
    by_key: Vec<u8>,
    /// The length of `entries` written as one field.
    encoded_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    /// W3C properties, as written after the value (without the leading `;`).
    properties: String,
}

impl Entry {
    fn encoded_len(&self) -> usize {
        Member::new(&self.key, &self.value, &self.properties).encoded_len()
    }
}

/// An entry not yet kept: borrowed, and allocated only if it is.
struct Member<'a> {
    key: &'a str,
    value: &'a str,
    properties: &'a str,
    /// The length of `value` written out, with `%XX` for each byte that is not a
    /// `baggage-octet`.
    value_len: usize,
}

impl<'a> Member<'a> {
    fn new(key: &'a str, value: &'a str, properties: &'a str) -> Self {
        count_read(value.len());
        let value_len = value.len() + 2 * value.bytes().filter(|&b| !is_value_octet(b)).count();
        Member { key, value, properties, value_len }
    }

    /// The length of the entry written as a list member.
    fn encoded_len(&self) -> usize {
        let properties = if self.properties.is_empty() { 0 } else { self.properties.len() + 1 };
        self.key.len() + 1 + self.value_len + properties
    }
}

/// Why a baggage entry could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaggageError {
    /// No span is current on this thread, so there is no trace to carry the entry.
    NoCurrentSpan,
    /// The key is not an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``).
    InvalidKey,
    /// The trace already carries 64 entries, or the entry would take its baggage over 8192
    /// bytes.
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
        let at = self.find(key).ok()?;
        Some(&self.entries[usize::from(self.by_key[at])].value)
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
        self.add(Member::new(&key.into(), &value.into(), ""), true)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let index = self.by_key.remove(self.find(key).ok()?);
        for later in self.by_key.iter_mut().filter(|i| **i > index) {
            *later -= 1;
        }
        let entry = self.entries.remove(usize::from(index));
        self.encoded_len = self.encoded_len.saturating_sub(entry.encoded_len() + 1);
        Some(entry.value)
    }

    /// Adds an entry that came in a header, unless its key is already there; the error says
    /// why it was not added.
    pub(crate) fn merge(&mut self, key: &str, value: &str) -> Result<(), BaggageError> {
        self.add(Member::new(key, value, ""), false)
    }

    /// Adds an entry within the limits; an existing key is replaced only if `replace`. Nothing
    /// is allocated unless the entry is kept.
    fn add(&mut self, member: Member<'_>, replace: bool) -> Result<(), BaggageError> {
        if !is_token(member.key.as_bytes()) {
            return Err(BaggageError::InvalidKey);
        }
        let at = match self.find(member.key) {
            Ok(at) if replace => return self.replace(usize::from(self.by_key[at]), member),
            Ok(_) => return Ok(()),
            Err(at) => at,
        };
        if self.entries.len() >= MAX_ENTRIES {
            return Err(BaggageError::Full);
        }
        let separator = usize::from(!self.entries.is_empty());
        let len = self.encoded_len + separator + member.encoded_len();
        if len > MAX_BYTES {
            return Err(BaggageError::Full);
        }
        self.by_key.insert(at, self.entries.len() as u8);
        let Member { key, value, properties, .. } = member;
        self.entries.push(Entry { key: key.to_owned(), value: value.to_owned(), properties: properties.to_owned() });
        self.encoded_len = len;
        Ok(())
    }

    fn replace(&mut self, index: usize, member: Member<'_>) -> Result<(), BaggageError> {
        let entry = &mut self.entries[index];
        let len = self.encoded_len - entry.encoded_len() + member.encoded_len();
        if len > MAX_BYTES {
            return Err(BaggageError::Full);
        }
        member.value.clone_into(&mut entry.value);
        member.properties.clone_into(&mut entry.properties);
        self.encoded_len = len;
        Ok(())
    }

    /// Where `key` is in `by_key`, or where it would go.
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.by_key.binary_search_by(|&i| {
            let other = &self.entries[usize::from(i)].key;
            count_read(other.len().min(key.len()).max(1));
            other.as_str().cmp(key)
        })
    }
}

#[cfg(test)]
thread_local! {
    /// The bytes read while extracting, counted in tests, which check that a header costs
    /// bounded work whatever its length and shape.
    static READ: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count_read(_bytes: usize) {
    #[cfg(test)]
    READ.with(|read| read.set(read.get() + _bytes));
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

/// A value: `baggage-octet`s as they are, or with `%XX` escapes decoded into `scratch`; `None`
/// for other bytes, or escapes that do not decode to UTF-8. With it, its length written out.
fn decode_value<'a>(bytes: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<(&'a str, usize)> {
    if !bytes.contains(&b'%') {
        // Checked whole rather than up to the first bad byte, which lets it vectorise.
        if !bytes.iter().fold(true, |valid, &b| valid & is_value_octet(b)) {
            return None;
        }
        // Value octets are ASCII, and written out as they are.
        return Some((std::str::from_utf8(bytes).ok()?, bytes.len()));
    }
    scratch.clear();
    let mut written = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let digit = |b: u8| (b as char).to_digit(16);
                i += 3;
                (digit(hex[0])? * 16 + digit(hex[1])?) as u8
            }
            b if is_value_octet(b) => {
                i += 1;
                b
            }
            _ => return None,
        };
        scratch.push(b);
        written += if is_value_octet(b) { 1 } else { 3 };
    }
    Some((std::str::from_utf8(scratch).ok()?, written))
}

/// Parses one list member: `key = value *( ; property )`. Whether the key is a token is left
/// to `Baggage::add`.
fn parse_member<'a>(member: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<Member<'a>> {
    let (pair, properties) = match member.iter().position(|&b| b == b';') {
        Some(i) => (&member[..i], trim(&member[i + 1..])),
        None => (member, &[][..]),
    };
    let eq = pair.iter().position(|&b| b == b'=')?;
    let key = trim(&pair[..eq]);
    if !key.is_ascii() || !properties.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b',') {
        return None;
    }
    let (value, value_len) = decode_value(trim(&pair[eq + 1..]), scratch)?;
    Some(Member {
        // Both are ASCII, checked above.
        key: std::str::from_utf8(key).ok()?,
        properties: std::str::from_utf8(properties).ok()?,
        value,
        value_len,
    })
}

/// The members of `field` that end within its first `limit` bytes, and whether some did not.
fn members_within(field: &[u8], limit: usize) -> (&[u8], bool) {
    if field.len() <= limit {
        return (field, false);
    }
    if field[limit] == b',' {
        return (&field[..limit], true);
    }
    let end = field[..limit].iter().rposition(|&b| b == b',').unwrap_or(0);
    count_read(limit - end);
    (&field[..end], true)
}

/// Adds the entries of the `baggage` fields of `carrier` to `baggage`, reading at most 64
/// members and 8192 bytes of them.
pub(crate) fn extract<C: Extractor + ?Sized>(carrier: &C, baggage: &mut Baggage) {
    let (mut malformed, mut dropped) = (0, 0);
    let (mut bytes_left, mut members_left) = (MAX_BYTES, MAX_ENTRIES);
    let mut scratch = Vec::new();
    let rest_unread = 'fields: {
        for (i, field) in carrier.values(BAGGAGE).enumerate() {
            // The fields as if joined with commas.
            let Some(limit) = bytes_left.checked_sub(usize::from(i > 0)) else { break 'fields true };
            let (read, cut) = members_within(field, limit);
            for member in read.split(|&b| b == b',') {
                count_read(member.len() + 1);
                let member = trim(member);
                if member.is_empty() {
                    continue;
                }
                let Some(left) = members_left.checked_sub(1) else { break 'fields true };
                members_left = left;
                match parse_member(member, &mut scratch).map(|member| baggage.add(member, false)) {
                    Some(Ok(())) => {}
                    Some(Err(BaggageError::Full)) => dropped += 1,
                    Some(Err(_)) | None => malformed += 1,
                }
            }
            if cut {
                break 'fields true;
            }
            bytes_left = limit - field.len();
        }
        false
    };
    dropped += u64::from(rest_unread);
    for (counter, n) in [(Counter::BaggageMalformed, malformed), (Counter::BaggageEntriesDropped, dropped)] {
        if n > 0 {
            stats::add(counter, n);
        }
    }
}

/// Writes `baggage` as one `baggage` field.
pub(crate) fn inject<C: Injector + ?Sized>(baggage: &Baggage, carrier: &mut C) {
    if baggage.is_empty() {
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(baggage.encoded_len);
    for (i, entry) in baggage.entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&entry.key);
        out.push('=');
        for b in entry.value.bytes() {
            if is_value_octet(b) {
                out.push(char::from(b));
            } else {
                out.extend(['%', char::from(HEX[usize::from(b >> 4)]), char::from(HEX[usize::from(b & 15)])]);
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
        let mut full = Baggage::default();
        for i in 0..64 {
            full.insert(format!("k{i}"), "v").unwrap();
        }
        assert_eq!(full.insert("one-more", "v"), Err(BaggageError::Full));
        assert_eq!(full.insert("bad key", "v"), Err(BaggageError::InvalidKey));

        let mut big = Baggage::default();
        big.insert("a", "x".repeat(8190)).unwrap();
        assert_eq!(big.insert("b", ""), Err(BaggageError::Full), "8192 bytes with the comma: one too many");
        assert_eq!(
            big.insert("a", "x".repeat(8191)),
            Err(BaggageError::Full),
            "a replacement is held to the limit too"
        );
        big.insert("a", "x".repeat(8100)).unwrap();
        big.insert("b", "y".repeat(87)).unwrap();
        assert_eq!(big.encoded_len, 8192);
        assert_eq!(big.insert("c", ""), Err(BaggageError::Full));
        assert_eq!(big.remove("a").as_deref().map(str::len), Some(8100));
        big.insert("c", "").unwrap();
        assert_eq!(big.iter().collect::<Vec<_>>(), [("b", "y".repeat(87).as_str()), ("c", "")]);
    }

    #[test]
    fn fields_are_read_up_to_64_members() {
        let members: Vec<String> = (0..64).map(|i| format!("k{i}=v")).collect();
        let with_junk = format!("bad,{},k64=v", members[1..].join(","));
        assert_eq!(parse(&with_junk).len(), 63, "a malformed member is one read");
        assert_eq!(parse(&format!(",, ,{}, ,", members.join(","))).len(), 64, "empty members are not");
    }

    #[test]
    fn fields_are_read_up_to_8192_bytes() {
        // A member that ends past the 8192th byte is dropped with everything after it.
        let a = format!("a={}", "x".repeat(5000));
        let b = parse(&format!("{a},b={},c=1", "y".repeat(5000)));
        assert_eq!(b.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a"]);
        let exact = format!("a={},c=1", "x".repeat(8192 - 6));
        assert_eq!(parse(&exact).get("c"), Some("1"), "a member ending at the 8192th byte is read");
        assert_eq!(parse(&format!("{exact},d=2")).get("c"), Some("1"));
        assert_eq!(parse(&format!("{exact}2")).get("c"), None);
        // The fields count as if joined with commas.
        let mut headers = http::HeaderMap::new();
        headers.append(BAGGAGE, a.parse().unwrap());
        headers.append(BAGGAGE, format!("b={}", "y".repeat(8192 - 5002 - 1 - 2)).parse().unwrap());
        headers.append(BAGGAGE, "c=1".parse().unwrap());
        let mut b = Baggage::default();
        extract(&headers, &mut b);
        assert_eq!(b.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(b.encoded_len, 8192);
    }

    /// The bytes the baggage code reads to extract `fields`.
    fn bytes_read(fields: &[String]) -> usize {
        let mut headers = http::HeaderMap::new();
        for field in fields {
            headers.append(BAGGAGE, field.parse().unwrap());
        }
        READ.with(|read| read.set(0));
        extract(&headers, &mut Baggage::default());
        READ.with(std::cell::Cell::get)
    }

    /// `first`, then `member(0)`, `member(1)`, ... up to `len` bytes. (As `spanscope-tests`'
    /// `headers::members`, which this published crate's tests cannot depend on.)
    fn members(len: usize, first: &str, member: impl Fn(usize) -> String) -> String {
        let mut out = first.to_owned();
        for i in 0.. {
            let next = member(i);
            if out.len() + 1 + next.len() > len {
                break;
            }
            out.push(',');
            out.push_str(&next);
        }
        out
    }

    #[test]
    fn a_header_costs_bounded_work_whatever_its_length_and_shape() {
        let big = format!("big={}", "x".repeat(8100));
        let keys: Vec<String> = (0..63).map(|i| format!("k{i:02}=1")).collect();
        let long_keys: Vec<String> = (0..63).map(|i| format!("{:x>120}{i:02}=", "")).collect();
        let full: Vec<String> = (0..64).map(|i| format!("k{i}=1")).collect();
        for len in [100 << 10, 1 << 20] {
            for (shape, fields) in [
                // Nearly full, then tiny keys that no longer fit: each re-read the budget.
                ("full, then tiny keys", vec![members(len, &big, |i| format!("k{i}=1"))]),
                // Keys of one length, then the same keys again: a scan compares each with all.
                ("63 keys, repeated", vec![members(len, &keys.join(","), |i| keys[i % 63].clone())]),
                ("63 long keys, repeated", vec![members(len, &long_keys.join(","), |i| long_keys[i % 63].clone())]),
                ("64 entries, then tiny keys", vec![members(len, &full.join(","), |i| format!("n{i}=1"))]),
                ("malformed members", vec![members(len, "", |_| "k".to_owned())]),
                ("escaped values", vec![members(len, "", |i| format!("k{i}=%C3%A9%C3%A9"))]),
                ("the field repeated", (0..100).map(|f| members(len / 100, "", |i| format!("f{f}k{i}=1"))).collect()),
            ] {
                let read = bytes_read(&fields);
                assert!(read <= 10 * MAX_BYTES, "{shape}, {len} bytes: read {read} bytes");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn running_length_and_key_order_match_the_entries(
            operations in proptest::collection::vec(
                (0u8..3, "[a-e]{1,2}", proptest::string::string_regex("[ -~é]{0,600}").unwrap()),
                0..200,
            ),
        ) {
            let mut b = Baggage::default();
            for (operation, key, value) in operations {
                match operation {
                    0 => drop(b.insert(key, value)),
                    1 => drop(b.remove(&key)),
                    _ => {
                        let mut carrier = HashMap::new();
                        inject(&b, &mut carrier);
                        carrier.insert(BAGGAGE.to_owned(), format!("{},{key}={value}", carrier.get(BAGGAGE).map_or("", |v| v)));
                        b = Baggage::default();
                        extract(&carrier, &mut b);
                    }
                }
                let mut carrier = HashMap::new();
                inject(&b, &mut carrier);
                let field = carrier.get(BAGGAGE).map_or("", |v| v.as_str());
                proptest::prop_assert_eq!(b.encoded_len, field.len());
                proptest::prop_assert!(b.encoded_len <= MAX_BYTES && b.len() <= MAX_ENTRIES);
                let keys: Vec<&str> = b.by_key.iter().map(|&i| b.entries[usize::from(i)].key.as_str()).collect();
                let mut sorted: Vec<&str> = b.iter().map(|(k, _)| k).collect();
                sorted.sort_unstable();
                proptest::prop_assert_eq!(keys, sorted, "by_key orders every entry once");
                for (key, value) in b.iter() {
                    proptest::prop_assert_eq!(b.get(key), Some(value));
                }
                proptest::prop_assert_eq!(&parse(field), &b, "what is written reads back the same");
            }
        }
    }
}
