//! OTLP/JSON: an `ExportTraceServiceRequest` written straight from the segments' views (see
//! [`model`](super::model)) as the OpenTelemetry protocol specifies for JSON: hex
//! trace and span ids, enums as numbers, 64-bit integers as decimal strings, lowerCamelCase
//! names, default values left out.
//!
//! Nothing is built on the way: no message structs, no `fmt` for ids, integers or strings. The
//! resource and scope, the same in every request, are written once. Requests are written as
//! bytes (they go to a file or an HTTP body): digits and hex need no UTF-8 check on the way.

use std::io::Write as _;

use crate::clock::Converter;
use crate::export::resource::Resource;
use crate::export::traces::otlp::model::{self, SpanView, Value, SCOPE_NAME, SCOPE_VERSION};
use crate::id::hex_pair;
use crate::span::Segment;

/// Writes requests for one resource.
#[derive(Debug, Clone)]
pub(crate) struct RequestWriter {
    /// Every request's beginning, up to the opening of its span array.
    head: Vec<u8>,
}

/// What closes the span array and the request.
const TAIL: &[u8] = b"]}]}]}";

/// About what a span with the usual HTTP attributes takes, to size a batch's buffer once
/// instead of growing it by doubling (each growth copies all that was written).
const TYPICAL_SPAN_BYTES: usize = 600;

impl RequestWriter {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut head = br#"{"resourceSpans":[{"resource":"#.to_vec();
        write_resource(&mut head, resource);
        head.extend_from_slice(br#","scopeSpans":[{"scope":{"name":"#);
        push_json_string(&mut head, SCOPE_NAME);
        head.extend_from_slice(br#","version":"#);
        push_json_string(&mut head, SCOPE_VERSION);
        head.extend_from_slice(br#"},"spans":["#);
        Self { head }
    }

    /// About how many bytes a request carrying `spans` spans takes (and a line's end).
    pub(crate) fn size_hint(&self, spans: u64) -> usize {
        self.head.len() + TAIL.len() + 1 + spans as usize * TYPICAL_SPAN_BYTES
    }

    /// Appends one request carrying the spans of `segments`.
    pub(crate) fn write<'a>(
        &self,
        out: &mut Vec<u8>,
        segments: impl IntoIterator<Item = &'a Segment>,
        clock: &Converter,
    ) {
        out.extend_from_slice(&self.head);
        let mut first = true;
        for segment in segments {
            // Every span of a segment is in its trace.
            let trace_id = segment.trace_id.hex();
            for span in model::spans(segment, clock) {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_span(out, &span, &trace_id);
            }
        }
        out.extend_from_slice(TAIL);
    }
}

/// A span of the trace whose id's hex digits are `trace_id`. Quotes and separators are written
/// with the field names around them, so that each field is few appends.
fn write_span(out: &mut Vec<u8>, span: &SpanView<'_>, trace_id: &[u8]) {
    out.extend_from_slice(br#"{"traceId":""#);
    out.extend_from_slice(trace_id);
    out.extend_from_slice(br#"","spanId":""#);
    out.extend_from_slice(&span.span_id().hex());
    if let Some(parent) = span.parent_span_id() {
        out.extend_from_slice(br#"","parentSpanId":""#);
        out.extend_from_slice(&parent.hex());
    }
    push_trace_state(out, span.trace_state());
    out.extend_from_slice(br#"","flags":"#);
    push_u64(out, span.flags().into());
    out.extend_from_slice(br#","name":""#);
    push_escaped(out, span.name());
    out.extend_from_slice(br#"","kind":"#);
    push_u64(out, span.kind() as u64);
    out.extend_from_slice(br#","startTimeUnixNano":""#);
    push_u64(out, span.start_time_unix_nano());
    out.extend_from_slice(br#"","endTimeUnixNano":""#);
    push_u64(out, span.end_time_unix_nano());
    out.push(b'"');
    write_attributes(out, br#","attributes":"#, |visit| span.attributes(visit));
    let mut events = List::new(br#","events":"#);
    for event in span.events() {
        events.item(out);
        out.extend_from_slice(br#"{"timeUnixNano":""#);
        push_u64(out, event.time_unix_nano);
        out.extend_from_slice(br#"","name":""#);
        push_escaped(out, event.name());
        out.push(b'"');
        write_attributes(out, br#","attributes":"#, |visit| event.attributes(visit));
        out.push(b'}');
    }
    events.end(out);
    if let Some(link) = span.link() {
        out.extend_from_slice(br#","links":[{"traceId":""#);
        out.extend_from_slice(&link.trace_id().hex());
        out.extend_from_slice(br#"","spanId":""#);
        out.extend_from_slice(&link.span_id().hex());
        push_trace_state(out, link.trace_state);
        out.extend_from_slice(br#"","flags":"#);
        push_u64(out, link.flags().into());
        write_attributes(out, br#","attributes":"#, |visit| link.attributes(visit));
        out.extend_from_slice(b"}]");
    }
    if let Some(message) = span.error() {
        out.extend_from_slice(br#","status":{"code":"#);
        push_u64(out, model::STATUS_ERROR);
        if !message.is_empty() {
            out.extend_from_slice(br#","message":""#);
            push_escaped(out, message);
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b'}');
}

/// `","traceState":"<state>`, inside the quotes of the field before it, when there is one.
fn push_trace_state(out: &mut Vec<u8>, trace_state: &str) {
    if !trace_state.is_empty() {
        out.extend_from_slice(br#"","traceState":""#);
        push_escaped(out, trace_state);
    }
}

/// A `Resource` object: `{"attributes":[...]}`, the same in every signal's requests.
pub(crate) fn write_resource(out: &mut Vec<u8>, resource: &Resource) {
    out.push(b'{');
    write_attributes(out, br#""attributes":"#, |visit| {
        for (key, value) in &resource.attributes {
            visit(key, value.into());
        }
    });
    out.push(b'}');
}

/// A repeated field, written only if it has an element (ProtoJSON leaves empty ones out).
pub(crate) struct List {
    /// The field's name and colon, with the comma before it if any; taken by the first item.
    field: Option<&'static [u8]>,
}

impl List {
    pub(crate) fn new(field: &'static [u8]) -> Self {
        Self { field: Some(field) }
    }

    /// Starts an element: the field's name and `[` before the first, a comma before the rest.
    pub(crate) fn item(&mut self, out: &mut Vec<u8>) {
        match self.field.take() {
            Some(field) => {
                out.extend_from_slice(field);
                out.push(b'[');
            }
            None => out.push(b','),
        }
    }

    pub(crate) fn end(self, out: &mut Vec<u8>) {
        if self.field.is_none() {
            out.push(b']');
        }
    }
}

/// The `field` of `{"key", "value"}` objects that `attributes` visits, if it visits any.
pub(crate) fn write_attributes(
    out: &mut Vec<u8>,
    field: &'static [u8],
    attributes: impl FnOnce(&mut dyn FnMut(&str, Value<'_>)),
) {
    let mut list = List::new(field);
    attributes(&mut |key, value| {
        list.item(out);
        out.extend_from_slice(br#"{"key":""#);
        push_escaped(out, key);
        write_value(out, value);
        out.push(b'}');
    });
    list.end(out);
}

/// What opens a string `AnyValue`, closing the key's quotes first.
const STRING_VALUE: &[u8] = br#"","value":{"stringValue":""#;

/// `","value":` and an `AnyValue`, closing the key's quotes first.
fn write_value(out: &mut Vec<u8>, value: Value<'_>) {
    match value {
        Value::Str(s) => quoted(out, STRING_VALUE, |out| push_escaped(out, s)),
        Value::Id(id) => quoted(out, STRING_VALUE, |out| out.extend_from_slice(&id.hex())),
        Value::Decimal(v) => quoted(out, STRING_VALUE, |out| push_u64(out, v)),
        Value::Int(v) => {
            let head: &[u8] = if v < 0 { br#"","value":{"intValue":"-"# } else { br#"","value":{"intValue":""# };
            quoted(out, head, |out| push_u64(out, v.unsigned_abs()));
        }
        Value::Bool(v) => {
            out.extend_from_slice(if v {
                br#"","value":{"boolValue":true}"#
            } else {
                br#"","value":{"boolValue":false}"#
            });
        }
        Value::Double(v) if v.is_finite() => {
            // Writing to a `Vec` cannot fail.
            let _ = write!(out, r#"","value":{{"doubleValue":{v:?}}}"#);
        }
        Value::Double(v) => {
            // JSON has no NaN or infinity; ProtoJSON spells them as strings.
            out.extend_from_slice(if v.is_nan() {
                br#"","value":{"doubleValue":"NaN"}"#
            } else if v > 0.0 {
                br#"","value":{"doubleValue":"Infinity"}"#
            } else {
                br#"","value":{"doubleValue":"-Infinity"}"#
            });
        }
    }
}

/// A value written as text (ProtoJSON's strings and 64-bit integers): `head`, which opens it,
/// the text `write` appends, and the quote and brace that close it.
fn quoted(out: &mut Vec<u8>, head: &[u8], write: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(head);
    write(out);
    out.extend_from_slice(br#""}"#);
}

/// A decimal integer, two digits per division, without `fmt`'s machinery (every span has
/// two 19-digit timestamps).
pub(crate) fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while value >= 100 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if value >= 10 {
        let pair = value as usize * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + value as u8;
    }
    out.extend_from_slice(&digits[at..]);
}

/// A JSON string literal, escaped per RFC 8259.
pub(crate) fn push_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    push_escaped(out, text);
    out.push(b'"');
}

/// The inside of a JSON string literal: `text` escaped per RFC 8259.
pub(crate) fn push_escaped(out: &mut Vec<u8>, text: &str) {
    // Nearly every string (names, keys, paths, addresses) needs no escape: one scan, one copy.
    if !any_needs_escape(text.as_bytes()) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    // Runs of bytes that need no escape are copied whole. The bytes that need one are ASCII, so
    // the text stays UTF-8.
    let text = text.as_bytes();
    let mut run = 0;
    for (at, &byte) in text.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(&text[run..at]);
        run = at + 1;
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex_pair(byte));
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&text[run..]);
}

/// Whether any byte of `bytes` needs an escape, eight at a time; the last few are padded with
/// spaces, which need none.
fn any_needs_escape(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut found = false;
    for word in &mut words {
        found |= needs_escape(u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    let mut last = [b' '; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    found | needs_escape(u64::from_le_bytes(last))
}

/// Whether any of the eight bytes of `word` is a control character, `"` or `\` (the classic
/// bit tricks: a byte below `n` leaves its high bit set in `byte - n` while its own is clear).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let zero = |word: u64| below(word, 1);
    below(word, 0x20) | zero(word ^ (ONES * u64::from(b'"'))) | zero(word ^ (ONES * u64::from(b'\\'))) != 0
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    use super::*;
    use crate::config::env::Vars;
    use crate::config::Config;
    use crate::id::{SpanId, TraceId};
    use crate::propagation::Sw8Parent;
    use crate::span::{ErrorInfo, ParentContext, Propagated, RefKind, SpanKind, SpanLog};
    use crate::tag::{TagMeta, TagValue};

    static METHOD: TagMeta = TagMeta::new("method", "http.request.method");
    static SIZE: TagMeta = TagMeta::new("size", "app.size");
    static HUGE: TagMeta = TagMeta::new("huge", "app.huge");
    static RATIO: TagMeta = TagMeta::new("ratio", "app.ratio");
    static CACHED: TagMeta = TagMeta::new("cached", "app.cached");

    /// A segment with something of everything the mapping handles: a remote parent named by
    /// `sw8`, tracestate, every tag type, a peer, a failed span, a custom log, text that needs
    /// escaping, and a span closed with its segment (as `end_root` hands segments over).
    fn everything() -> Box<Segment> {
        let trace_id = TraceId::from_int(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c).unwrap();
        let parent = ParentContext {
            kind: RefKind::CrossProcess,
            trace_id,
            span_id: SpanId::from_int(0xb7ad_6b71_6920_3331).unwrap(),
            sampled: true,
            flags: 0x03,
            segment: None,
            endpoint: None,
            sw8: Some(Box::new(Sw8Parent::new(
                ["a.b.c", "front\\end", "pod-1@host", "POST /checkout/{tenant}", "orders:8080"],
                3,
            ))),
            sent_at_ms: None,
            propagated: Propagated { trace_state: Some("vendor=x,other=\"y\"".to_owned()), ..Propagated::default() },
        };
        let name = Cow::Borrowed("POST /orders \"ünïcode\"\n");
        let mut segment = Segment::boxed(trace_id, true, Some(parent), name, SpanKind::Entry, 1_000, 16);
        segment.profiled = true;
        let exit = segment.push_span(Cow::Owned("Inventory/Reserve".to_owned()), SpanKind::Exit, 0, 2_000).unwrap();
        let local = segment.push_span(Cow::Borrowed("price"), SpanKind::Local, 0, 2_500).unwrap();
        segment.end_span(exit, 3_000, Some(ErrorInfo::new("Status", "out of stock: \u{1}\t\"x\"")));
        segment.end_span(0, 4_000, None);
        segment.close_open_spans();
        segment.tags.push((0, &METHOD, TagValue::from("POST")));
        segment.tags.push((0, &SIZE, TagValue::I64(-42)));
        segment.tags.push((exit, &HUGE, TagValue::U64(u64::MAX)));
        segment.tags.push((exit, &SIZE, TagValue::U64(7)));
        segment.tags.push((local, &RATIO, TagValue::F64(0.25)));
        segment.tags.push((local, &CACHED, TagValue::Bool(true)));
        segment.peers.push((exit, Cow::Borrowed("inventory:50051")));
        segment.logs.push(SpanLog {
            span: local,
            tick: 2_600,
            name: Cow::Borrowed("cache miss"),
            fields: vec![("key", TagValue::from("sku-1")), ("tries", TagValue::I64(2))],
        });
        segment
    }

    #[test]
    fn the_json_is_the_protobuf_model_in_protojson() {
        let vars = [("OTEL_SERVICE_NAME", "shop"), ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=a%22b")];
        let settings = Config::new().resolve(&Vars::of(&vars)).unwrap();
        let resource = Resource::new(&settings);
        let (first, second) = (
            everything(),
            Segment::boxed(TraceId::from_int(7).unwrap(), true, None, Cow::Borrowed("job"), SpanKind::Local, 10, 16),
        );
        let clock = Converter::current();
        let mut json = Vec::new();
        RequestWriter::new(&resource).write(&mut json, [&*first, &*second], &clock);
        let decoded: ExportTraceServiceRequest =
            serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json)));
        let mut spans = Vec::new();
        for segment in [&first, &second] {
            model::push_spans(segment, &clock, &mut spans);
        }
        assert_eq!(spans.len(), 4);
        assert_eq!(decoded, model::request(model::resource(&resource), spans));
    }

    proptest::proptest! {
        #[test]
        fn any_text_survives_a_json_round_trip(text in "\\PC*|[\\x00-\\x7f]{0,40}") {
            let mut out = Vec::new();
            push_json_string(&mut out, &text);
            proptest::prop_assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), text);
        }

        #[test]
        fn any_integer_is_written_in_decimal(value: u64) {
            let mut out = Vec::new();
            push_u64(&mut out, value);
            proptest::prop_assert_eq!(out, value.to_string().into_bytes());
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é\u{1f}\t");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é\u001f\t""#.as_bytes());
    }

    #[test]
    fn integers_are_written_in_decimal() {
        let edges = [0, 7, 10, 99, 100, 101, 9_999, 10_000, 99_999_999, 100_000_000, 10_u64.pow(16), u64::MAX];
        for value in edges {
            let mut out = Vec::new();
            push_u64(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
        }
        let mut out = Vec::new();
        write_value(&mut out, Value::Int(i64::MIN));
        assert_eq!(out, format!(r#"","value":{{"intValue":"{}"}}"#, i64::MIN).as_bytes());
    }
}
