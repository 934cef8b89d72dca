//! W3C Trace Context: the `traceparent` and `tracestate` fields.
//!
//! Strict where the Recommendation is: version `00` is exactly 55 characters of lowercase hex
//! in four fields; all-zero ids, version `ff` and repeated `traceparent` fields are invalid;
//! a higher version is read by its version-00 prefix; optional whitespace around the value is
//! allowed. All trace flags are kept (the random-trace-id bit included). `tracestate` is read
//! only with a valid `traceparent`, may span several fields, and is forwarded only when it is
//! well-formed with at most 32 members; on inject our own member (`spanscope=p:<span id>`) is
//! updated and moved to the front, as the specification asks of a vendor that changes the
//! parent.

use super::{Extractor, Injector, Outgoing};
use super::{ParentContext, Propagated, RefKind};
use crate::id::{hex_pair, SpanId, TraceId};
use crate::stats::{self, Counter};

pub(crate) const TRACEPARENT: &str = "traceparent";
pub(crate) const TRACESTATE: &str = "tracestate";

const MAX_TRACESTATE_MEMBERS: usize = 32;
/// Our own `tracestate` member's key.
const OWN_KEY: &str = "spanscope";
/// Longer `tracestate` input is not parsed (32 members of at most 256 + 1 + 256 bytes).
const MAX_TRACESTATE_LEN: usize = MAX_TRACESTATE_MEMBERS * 514;

/// A parsed `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceParent {
    pub trace_id: TraceId,
    pub parent_id: SpanId,
    pub flags: u8,
}

/// Parses one `traceparent` value.
pub(crate) fn parse(value: &[u8]) -> Option<TraceParent> {
    let value = trim_ows(value);
    if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let version = hex_byte(&value[0..2])?;
    match version {
        0xff => return None,
        0x00 if value.len() != 55 => return None,
        // A higher version may append fields, each introduced by '-'.
        _ if value.len() > 55 && value[55] != b'-' => return None,
        _ => {}
    }
    Some(TraceParent {
        trace_id: TraceId::from_hex(&value[3..35])?,
        parent_id: SpanId::from_hex(&value[36..52])?,
        flags: hex_byte(&value[53..55])?,
    })
}

/// Formats a version-00 `traceparent`.
pub(crate) fn format(trace_id: TraceId, parent_id: SpanId, flags: u8) -> String {
    let mut out = String::with_capacity(55);
    out.push_str("00-");
    push_ascii(&mut out, &trace_id.hex());
    out.push('-');
    push_ascii(&mut out, &parent_id.hex());
    out.push('-');
    push_ascii(&mut out, &hex_pair(flags));
    out
}

/// Appends ASCII bytes (hex digits) to `out`: checked and copied whole, not pushed a character
/// at a time (the check cannot fail).
fn push_ascii(out: &mut String, ascii: &[u8]) {
    out.push_str(std::str::from_utf8(ascii).unwrap_or_default());
}

fn hex_byte(digits: &[u8]) -> Option<u8> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    Some(digit(digits[0])? << 4 | digit(digits[1])?)
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Reads the caller's context from `carrier`, counting what it had to ignore.
pub(crate) fn extract<C: Extractor + ?Sized>(carrier: &C) -> Option<ParentContext> {
    let mut values = carrier.values(TRACEPARENT);
    let first = values.next()?;
    if values.next().is_some() {
        stats::add(Counter::TraceparentDuplicate, 1);
        return None;
    }
    let Some(parent) = parse(first) else {
        stats::add(Counter::TraceparentMalformed, 1);
        return None;
    };
    Some(ParentContext {
        kind: RefKind::CrossProcess,
        trace_id: parent.trace_id,
        span_id: parent.parent_id,
        sampled: parent.flags & 0x01 != 0,
        flags: parent.flags,
        segment: None,
        endpoint: None,
        sw8: None,
        sent_at_ms: None,
        propagated: Propagated { trace_state: extract_tracestate(carrier), ..Propagated::default() },
    })
}

/// The `tracestate` to forward: the members of all its fields but our own, if every member is
/// well-formed and the limits hold. Nothing is allocated unless there is something to forward
/// (between two spanscope services, only our own member travels).
fn extract_tracestate<C: Extractor + ?Sized>(carrier: &C) -> Option<String> {
    let malformed = || {
        stats::add(Counter::TracestateMalformed, 1);
        None
    };
    // The length of the fields joined with commas, as the limit is stated.
    let mut joined_len = 0;
    let mut keys = [""; MAX_TRACESTATE_MEMBERS];
    let mut members = 0;
    let mut forwarded = String::new();
    for value in carrier.values(TRACESTATE) {
        let Ok(value) = std::str::from_utf8(value) else { return malformed() };
        if joined_len + value.len() > MAX_TRACESTATE_LEN {
            return malformed();
        }
        joined_len += usize::from(joined_len > 0) + value.len();
        for member in value.split(',').map(|m| m.trim_matches([' ', '\t'])).filter(|m| !m.is_empty()) {
            let Some((key, state)) = member.split_once('=') else { return malformed() };
            if members == MAX_TRACESTATE_MEMBERS
                || !valid_key(key)
                || !valid_value(state)
                || keys[..members].contains(&key)
            {
                return malformed();
            }
            keys[members] = key;
            members += 1;
            if key != OWN_KEY {
                if !forwarded.is_empty() {
                    forwarded.push(',');
                }
                forwarded.push_str(member);
            }
        }
    }
    (!forwarded.is_empty()).then_some(forwarded)
}

/// `key = simple-key / multi-tenant-key`, lowercase, at most 256 characters.
fn valid_key(key: &str) -> bool {
    let key_char = |c: u8| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/');
    let simple = |k: &str, max: usize| {
        let b = k.as_bytes();
        !b.is_empty() && b.len() <= max && matches!(b[0], b'a'..=b'z' | b'0'..=b'9') && b.iter().all(|&c| key_char(c))
    };
    match key.split_once('@') {
        None => simple(key, 256),
        Some((tenant, system)) => {
            simple(tenant, 241) && simple(system, 14) && system.as_bytes()[0].is_ascii_lowercase()
        }
    }
}

/// `value = 0*255(chr) nblk-chr`: printable ASCII except `,` and `=`, not ending in a space.
fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b.iter().all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b[b.len() - 1] != b' '
}

/// Writes `traceparent`, and `tracestate` with our member first and upstream's after it.
pub(crate) fn inject<C: Injector + ?Sized>(outgoing: &Outgoing<'_>, carrier: &mut C) {
    carrier.set(TRACEPARENT, format(outgoing.trace_id, outgoing.span_id, outgoing.flags));
    let upstream_len = outgoing.propagated.trace_state.as_ref().map_or(0, |s| s.len() + 1);
    let mut state = String::with_capacity(OWN_KEY.len() + 19 + upstream_len);
    state.push_str(OWN_KEY);
    state.push_str("=p:");
    push_ascii(&mut state, &outgoing.span_id.hex());
    if let Some(upstream) = &outgoing.propagated.trace_state {
        // Keep at most 32 members in all: drop upstream's rightmost (oldest) ones.
        for member in upstream.split(',').take(MAX_TRACESTATE_MEMBERS - 1) {
            state.push(',');
            state.push_str(member);
        }
    }
    carrier.set(TRACESTATE, state);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str) -> TraceParent {
        parse(value.as_bytes()).unwrap_or_else(|| panic!("rejected {value:?}"))
    }

    fn bad(value: &str) {
        assert_eq!(parse(value.as_bytes()), None, "accepted {value:?}");
    }

    #[test]
    fn accepts_the_spec_example_and_keeps_all_flags() {
        let p = ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(p.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p.parent_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(p.flags, 0x01);
        assert_eq!(ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03").flags, 0x03);
        assert_eq!(ok(" \t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ").flags, 0x01);
    }

    #[test]
    fn future_versions_are_read_by_their_prefix() {
        let p = ok("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like");
        assert_eq!(p.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        ok("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        bad("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what-the-future-will-be-like");
    }

    #[test]
    fn rejects_what_the_spec_test_suite_rejects() {
        for value in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            bad(value);
        }
    }

    #[test]
    fn no_input_panics() {
        // Every byte at every position of a valid header, and every length up to 80.
        let valid = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec();
        for i in 0..valid.len() {
            for b in 0..=255u8 {
                let mut v = valid.clone();
                v[i] = b;
                let _ = parse(&v);
            }
        }
        for len in 0..80 {
            let _ = parse(&vec![b'-'; len]);
        }
    }

    #[test]
    fn tracestate_rules() {
        let mut h = http::HeaderMap::new();
        h.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        h.append("tracestate", "rojo=00f067aa0ba902b7, ".parse().unwrap());
        h.append("tracestate", "congo=t61rcWkgMzE,tenant@vendor=x".parse().unwrap());
        assert_eq!(
            extract(&h).unwrap().propagated.trace_state.as_deref(),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=x")
        );
        let members: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        h.insert("tracestate", members.join(",").parse().unwrap());
        assert_eq!(extract(&h).unwrap().propagated.trace_state, None, "33 members are dropped");
        h.insert("tracestate", "UPPER=v".parse().unwrap());
        assert_eq!(extract(&h).unwrap().propagated.trace_state, None);
        h.insert("tracestate", "a=1,a=2".parse().unwrap());
        assert_eq!(extract(&h).unwrap().propagated.trace_state, None, "duplicate keys are invalid");
    }

    #[test]
    fn duplicate_traceparent_starts_a_new_trace() {
        let mut h = http::HeaderMap::new();
        h.append("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        h.append("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        assert!(extract(&h).is_none());
    }
}
