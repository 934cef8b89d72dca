//! SkyWalking's cross-process headers: `sw8` (the trace context, protocol v3), `sw8-correlation`
//! (custom entries) and `sw8-x` (tracing mode and sending time).
//!
//! `sw8` is `sample-traceId-segmentId-spanIndex-service-instance-endpoint-peer` with every
//! string Base64-encoded. It is read exactly as the official agents write it and written as
//! they read it: a trace id that is not 32 hex (Java and Go agents write `<hex>.<n>.<n>`) is kept
//! verbatim and hashed to a 128-bit id for the other formats; the parent span's 64-bit id is
//! derived from the caller's segment id and span index the way our own span ids are, so a
//! spanscope caller and callee agree on it. The peer field is written empty when the context is
//! injected outside an exit span (`spanscope::inject`); use `#[exit(peer = ..)]` for calls to
//! services instrumented by the Java agent, which requires it.

use std::sync::Arc;

use super::{foreign_span_id, Baggage, BaggageError, Extractor, Injector, Outgoing};
use super::{ParentContext, Propagated, RefKind, Sw8Parent};
use crate::encoding::base64;
use crate::id::{SegmentId, TraceId};
use crate::stats::{self, Counter};

pub(crate) const SW8: &str = "sw8";
pub(crate) const CORRELATION: &str = "sw8-correlation";
pub(crate) const EXTENSION: &str = "sw8-x";

/// The agents' limit on a whole `sw8` value.
const MAX_SW8_LEN: usize = 2048;
/// The agents' limits on correlation: 3 entries, values of at most 128 bytes.
const MAX_CORRELATION_ENTRIES: usize = 3;
const MAX_CORRELATION_VALUE: usize = 128;
/// A correlation header longer than its 3 largest legal entries could be is not parsed.
const MAX_CORRELATION_LEN: usize = 1024;

/// What `sw8` needs to name the calling span.
#[derive(Debug)]
pub(crate) struct Sw8Outgoing<'a> {
    pub segment_id: SegmentId,
    pub span_index: u32,
    /// The calling segment's first entry span's name.
    pub endpoint: &'a str,
    /// The address the exit span calls.
    pub peer: &'a str,
    pub service: &'a str,
    pub instance: &'a str,
}

/// `sw8-x` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extension {
    pub skip_analysis: bool,
    pub sent_at_ms: Option<u64>,
}

/// A parsed `sw8` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sw8 {
    pub sampled: bool,
    pub trace_id: TraceId,
    /// The trace id as written, when it is not 32 hex digits (it was hashed into `trace_id`).
    pub foreign_trace_id: Option<Arc<str>>,
    pub parent: Sw8Parent,
}

/// Parses one `sw8` value; the error says why it is unusable.
pub(crate) fn parse(value: &[u8]) -> Result<Sw8, Counter> {
    if value.len() > MAX_SW8_LEN {
        return Err(Counter::Sw8Oversized);
    }
    let mut fields = value.split(|&b| b == b'-');
    let mut next = || fields.next().ok_or(Counter::Sw8Malformed);
    let sampled = match next()? {
        b"1" => true,
        b"0" => false,
        _ => return Err(Counter::Sw8Malformed),
    };
    // Every text field is decoded into one buffer, the trace id first and then dropped.
    let mut text = Vec::with_capacity(value.len());
    fn decode(field: &[u8], text: &mut Vec<u8>, may_be_empty: bool) -> Result<(), Counter> {
        let start = text.len();
        base64::decode_into(field, text).filter(|()| may_be_empty || text.len() > start).ok_or(Counter::Sw8Malformed)
    }
    decode(next()?, &mut text, false)?;
    let trace_id = std::str::from_utf8(&text).map_err(|_| Counter::Sw8Malformed)?;
    let (trace_id, foreign_trace_id) = match TraceId::from_hex(trace_id.as_bytes()) {
        Some(hex) => (hex, None),
        None => (TraceId::from_foreign(trace_id), Some(Arc::from(trace_id))),
    };
    text.clear();
    let segment_field = next()?;
    let span_index = parse_index(next()?).ok_or(Counter::Sw8Malformed)?;
    let mut ends = [0u32; 5];
    for (n, field) in [Ok(segment_field), next(), next(), next(), next()].into_iter().enumerate() {
        // The peer may be empty: a context injected outside an exit span has none. (The Java
        // agent treats such a header as invalid; the Rust and Python agents accept it.)
        decode(field?, &mut text, n == 4)?;
        ends[n] = text.len() as u32;
    }
    if fields.next().is_some() {
        return Err(Counter::Sw8Malformed);
    }
    let text = String::from_utf8(text).map_err(|_| Counter::Sw8Malformed)?;
    Ok(Sw8 { sampled, trace_id, foreign_trace_id, parent: Sw8Parent::from_parts(text, ends, span_index) })
}

/// The decimal digits of `n`, written into `buffer`.
fn itoa(mut n: u32, buffer: &mut [u8; 10]) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[start..]).unwrap_or_default()
}

/// A non-negative decimal `i32` without sign or padding surprises.
fn parse_index(digits: &[u8]) -> Option<i32> {
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Reads `sw8` from `carrier`, counting what it must ignore.
pub(crate) fn extract<C: Extractor + ?Sized>(carrier: &C) -> Option<ParentContext> {
    let value = match super::single(carrier, SW8) {
        Ok(value) => value?,
        Err(()) => {
            stats::add(Counter::Sw8Duplicate, 1);
            return None;
        }
    };
    let sw8 = parse(value).map_err(|reason| stats::add(reason, 1)).ok()?;
    Some(ParentContext {
        kind: RefKind::CrossProcess,
        trace_id: sw8.trace_id,
        span_id: foreign_span_id(sw8.parent.segment_id(), sw8.parent.span_index as u32),
        sampled: sw8.sampled,
        flags: u8::from(sw8.sampled),
        segment: None,
        // The caller's endpoint is in `sw8`, read from there when a segment needs it.
        endpoint: None,
        sw8: Some(Box::new(sw8.parent)),
        sent_at_ms: None,
        propagated: Propagated { sw_trace_id: sw8.foreign_trace_id, ..Propagated::default() },
    })
}

/// Adds the entries of `sw8-correlation` to `baggage`.
pub(crate) fn extract_correlation<C: Extractor + ?Sized>(carrier: &C, baggage: &mut Baggage) {
    let value = match super::single(carrier, CORRELATION) {
        Ok(Some(value)) if value.len() <= MAX_CORRELATION_LEN => value,
        Ok(None) => return,
        _ => {
            stats::add(Counter::Sw8CorrelationDropped, 1);
            return;
        }
    };
    let mut taken = 0;
    for element in value.split(|&b| b == b',').filter(|e| !e.is_empty()) {
        let mut parts = element.split(|&b| b == b':');
        let decoded = match (parts.next(), parts.next(), parts.next()) {
            (Some(key), Some(value), None) => base64::decode_str(key).zip(base64::decode_str(value)),
            _ => None,
        };
        let Some((key, value)) =
            decoded.filter(|(_, value)| value.len() <= MAX_CORRELATION_VALUE && taken < MAX_CORRELATION_ENTRIES)
        else {
            stats::add(Counter::Sw8CorrelationDropped, 1);
            continue;
        };
        match baggage.merge(&key, &value) {
            Ok(()) => taken += 1,
            Err(BaggageError::Full) => {
                taken += 1;
                stats::add(Counter::BaggageEntriesDropped, 1);
            }
            // A key that is not an HTTP token cannot travel on as baggage.
            Err(_) => stats::add(Counter::Sw8CorrelationDropped, 1),
        }
    }
}

/// Reads `sw8-x`: `<tracing mode>-<sending time in ms>`, both optional.
pub(crate) fn extract_extension<C: Extractor + ?Sized>(carrier: &C) -> Option<Extension> {
    let value = super::single(carrier, EXTENSION).ok()??;
    let mut fields = value.split(|&b| b == b'-').map(|f| f.trim_ascii());
    let skip_analysis = fields.next() == Some(b"1");
    let sent_at_ms = fields
        .next()
        .filter(|f| !f.is_empty() && f.len() <= 20 && f.iter().all(u8::is_ascii_digit))
        .and_then(|f| std::str::from_utf8(f).ok()?.parse().ok());
    Some(Extension { skip_analysis, sent_at_ms })
}

/// Writes `sw8`, `sw8-correlation` and `sw8-x` for `outgoing`.
pub(crate) fn inject<C: Injector + ?Sized>(outgoing: &Outgoing<'_>, carrier: &mut C) {
    let Some(sw8) = &outgoing.sw8 else { return };
    let hex_trace_id = outgoing.trace_id.hex();
    let trace_id = match &outgoing.propagated.sw_trace_id {
        Some(original) => original.as_bytes(),
        None => &hex_trace_id,
    };
    let mut value = String::with_capacity(160);
    value.push_str(if outgoing.sampled { "1-" } else { "0-" });
    base64::encode_into(trace_id, &mut value);
    value.push('-');
    base64::encode_into(&sw8.segment_id.hex(), &mut value);
    value.push('-');
    value.push_str(itoa(sw8.span_index, &mut [0; 10]));
    value.push('-');
    for (i, field) in [sw8.service, sw8.instance, sw8.endpoint, sw8.peer].into_iter().enumerate() {
        if i > 0 {
            value.push('-');
        }
        base64::encode_into(field.as_bytes(), &mut value);
    }
    carrier.set(SW8, value);

    let mut correlation = String::new();
    for (key, value) in outgoing
        .propagated
        .baggage
        .iter()
        .filter(|(_, v)| v.len() <= MAX_CORRELATION_VALUE)
        .take(MAX_CORRELATION_ENTRIES)
    {
        if !correlation.is_empty() {
            correlation.push(',');
        }
        base64::encode_into(key.as_bytes(), &mut correlation);
        correlation.push(':');
        base64::encode_into(value.as_bytes(), &mut correlation);
    }
    if !correlation.is_empty() {
        carrier.set(CORRELATION, correlation);
    }
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    carrier.set(EXTENSION, format!("{}-{now_ms}", u8::from(outgoing.propagated.skip_analysis)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_protocol_documents_example() {
        let sw8 = parse(b"1-MQ==-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==").unwrap();
        assert!(sw8.sampled);
        assert_eq!(sw8.foreign_trace_id.as_deref(), Some("1"));
        assert_eq!(sw8.trace_id, TraceId::from_foreign("1"));
        assert_eq!(sw8.parent, Sw8Parent::new(["5", "mesh", "instance", "/api/v1/health", "example.com:8080"], 3));
        assert_eq!(
            [sw8.parent.segment_id(), sw8.parent.service(), sw8.parent.instance(), sw8.parent.endpoint()],
            ["5", "mesh", "instance", "/api/v1/health"]
        );
        assert_eq!(sw8.parent.peer(), "example.com:8080");
        let hex = "1-MGFmNzY1MTkxNmNkNDNkZDg0NDhlYjIxMWM4MDMxOWM=-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2E=-";
        let sw8 = parse(hex.as_bytes()).unwrap();
        assert_eq!(sw8.trace_id.to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!((sw8.foreign_trace_id, sw8.parent.peer()), (None, ""));
    }

    #[test]
    fn rejects_every_malformation_with_its_reason() {
        let ok = "1-MQ==-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==";
        assert!(parse(ok.as_bytes()).is_ok());
        for bad in [
            "",
            "2-MQ==-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
            "1-MQ==-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=",
            "1-MQ==-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==-extra",
            "1-MQ=-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
            "1-MQ==-NQ==--3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
            "1-MQ==-NQ==-+3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
            "1-MQ==-NQ==-99999999999-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
            "1--NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
            "1-/w==-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
        ] {
            assert_eq!(parse(bad.as_bytes()), Err(Counter::Sw8Malformed), "{bad}");
        }
        let long = format!(
            "1-{}-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==",
            "QUFB".repeat(600)
        );
        assert_eq!(parse(long.as_bytes()), Err(Counter::Sw8Oversized));
    }

    #[test]
    fn java_style_trace_ids_are_kept_verbatim_and_hashed() {
        let id = "a1b2c3d4e5f60718293a4b5c6d7e8f90.54.16903651234560001";
        let mut header = String::from("1-");
        base64::encode_into(id.as_bytes(), &mut header);
        header.push_str("-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==");
        let carrier = std::collections::HashMap::from([("sw8".to_owned(), header)]);
        let context = extract(&carrier).unwrap();
        assert_eq!(context.propagated.sw_trace_id.as_deref(), Some(id));
        assert_eq!(context.trace_id, TraceId::from_foreign(id), "the same text always hashes alike");
    }

    #[test]
    fn correlation_keeps_three_entries_of_at_most_128_bytes() {
        let mut header = Vec::new();
        for (k, v) in [
            ("a", "1".repeat(10)),
            ("b", "2".repeat(129)),
            ("c=1,x", "3".into()),
            ("c", "3".into()),
            ("d", "4".into()),
            ("e", "5".into()),
        ] {
            let mut element = String::new();
            base64::encode_into(k.as_bytes(), &mut element);
            element.push(':');
            base64::encode_into(v.as_bytes(), &mut element);
            header.push(element);
        }
        let carrier = std::collections::HashMap::from([("sw8-correlation".to_owned(), header.join(","))]);
        let mut baggage = Baggage::default();
        extract_correlation(&carrier, &mut baggage);
        // A key that is not an HTTP token would smuggle entries into the `baggage` we send.
        assert_eq!(baggage.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "c", "d"]);
    }

    #[test]
    fn extension_fields() {
        let carrier = std::collections::HashMap::from([("sw8-x".to_owned(), "1-1700000000000".to_owned())]);
        assert_eq!(
            extract_extension(&carrier),
            Some(Extension { skip_analysis: true, sent_at_ms: Some(1_700_000_000_000) })
        );
        let carrier = std::collections::HashMap::from([("sw8-x".to_owned(), "0- ".to_owned())]);
        assert_eq!(extract_extension(&carrier), Some(Extension { skip_analysis: false, sent_at_ms: None }));
    }
}
