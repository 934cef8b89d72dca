//! OTLP/JSON: an `ExportTraceServiceRequest` (as [`otlp_model`](super::otlp_model) builds it)
//! written as the OpenTelemetry protocol specifies for JSON: hex trace and span ids, enums as
//! numbers, 64-bit integers as decimal strings, lowerCamelCase names, default values left out.

use std::fmt::Write as _;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;

/// Appends `request` as JSON.
pub(crate) fn write_request(out: &mut String, request: &ExportTraceServiceRequest) {
    out.push_str(r#"{"resourceSpans":["#);
    for (i, resource_spans) in request.resource_spans.iter().enumerate() {
        comma(out, i);
        out.push_str(r#"{"resource":{"attributes":"#);
        let attributes = resource_spans.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        write_attributes(out, attributes);
        out.push_str(r#"},"scopeSpans":["#);
        for (j, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            comma(out, j);
            out.push_str(r#"{"scope":{"#);
            if let Some(scope) = &scope_spans.scope {
                out.push_str(r#""name":"#);
                push_json_string(out, &scope.name);
                out.push_str(r#","version":"#);
                push_json_string(out, &scope.version);
            }
            out.push_str(r#"},"spans":["#);
            for (k, span) in scope_spans.spans.iter().enumerate() {
                comma(out, k);
                write_span(out, span);
            }
            out.push_str("]}");
        }
        out.push_str("]}");
    }
    out.push_str("]}");
}

/// The id fields a span and a link share: `traceId`, `spanId`, and `parentSpanId` and
/// `traceState` when present.
fn write_ids(out: &mut String, trace_id: &[u8], span_id: &[u8], parent_span_id: &[u8], trace_state: &str) {
    out.push_str(r#""traceId":"#);
    push_hex(out, trace_id);
    out.push_str(r#","spanId":"#);
    push_hex(out, span_id);
    if !parent_span_id.is_empty() {
        out.push_str(r#","parentSpanId":"#);
        push_hex(out, parent_span_id);
    }
    if !trace_state.is_empty() {
        out.push_str(r#","traceState":"#);
        push_json_string(out, trace_state);
    }
}

fn write_span(out: &mut String, span: &Span) {
    out.push('{');
    write_ids(out, &span.trace_id, &span.span_id, &span.parent_span_id, &span.trace_state);
    let _ = write!(out, r#","flags":{},"name":"#, span.flags);
    push_json_string(out, &span.name);
    let _ = write!(
        out,
        r#","kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":"#,
        span.kind, span.start_time_unix_nano, span.end_time_unix_nano
    );
    write_attributes(out, &span.attributes);
    out.push_str(r#","events":["#);
    for (i, event) in span.events.iter().enumerate() {
        comma(out, i);
        let _ = write!(out, r#"{{"timeUnixNano":"{}","name":"#, event.time_unix_nano);
        push_json_string(out, &event.name);
        out.push_str(r#","attributes":"#);
        write_attributes(out, &event.attributes);
        out.push('}');
    }
    out.push_str(r#"],"links":["#);
    for (i, link) in span.links.iter().enumerate() {
        comma(out, i);
        out.push('{');
        write_ids(out, &link.trace_id, &link.span_id, &[], &link.trace_state);
        let _ = write!(out, r#","flags":{},"attributes":"#, link.flags);
        write_attributes(out, &link.attributes);
        out.push('}');
    }
    out.push_str(r#"],"status":{"#);
    if let Some(status) = span.status.as_ref().filter(|s| s.code != 0) {
        let _ = write!(out, r#""code":{}"#, status.code);
        if !status.message.is_empty() {
            out.push_str(r#","message":"#);
            push_json_string(out, &status.message);
        }
    }
    out.push_str("}}");
}

fn write_attributes(out: &mut String, attributes: &[KeyValue]) {
    out.push('[');
    for (i, kv) in attributes.iter().enumerate() {
        comma(out, i);
        out.push_str(r#"{"key":"#);
        push_json_string(out, &kv.key);
        out.push_str(r#","value":"#);
        write_value(out, kv.value.as_ref());
        out.push('}');
    }
    out.push(']');
}

fn write_value(out: &mut String, value: Option<&AnyValue>) {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => {
            out.push_str(r#"{"stringValue":"#);
            push_json_string(out, s);
            out.push('}');
        }
        Some(Value::BoolValue(v)) => {
            let _ = write!(out, r#"{{"boolValue":{v}}}"#);
        }
        Some(Value::IntValue(v)) => {
            let _ = write!(out, r#"{{"intValue":"{v}"}}"#);
        }
        Some(Value::DoubleValue(v)) if v.is_finite() => {
            let _ = write!(out, r#"{{"doubleValue":{v:?}}}"#);
        }
        Some(Value::DoubleValue(v)) => {
            // JSON has no NaN or infinity; ProtoJSON spells them as strings.
            let text = if v.is_nan() {
                "NaN"
            } else if *v > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            let _ = write!(out, r#"{{"doubleValue":"{text}"}}"#);
        }
        Some(Value::ArrayValue(array)) => {
            out.push_str(r#"{"arrayValue":{"values":["#);
            for (i, value) in array.values.iter().enumerate() {
                comma(out, i);
                write_value(out, Some(value));
            }
            out.push_str("]}}");
        }
        Some(Value::KvlistValue(list)) => {
            out.push_str(r#"{"kvlistValue":{"values":"#);
            write_attributes(out, &list.values);
            out.push_str("}}");
        }
        // Neither is made by spanscope; written as an empty value rather than as invalid JSON.
        Some(Value::BytesValue(_) | Value::StringValueStrindex(_)) | None => out.push_str("{}"),
    }
}

fn comma(out: &mut String, index: usize) {
    if index > 0 {
        out.push(',');
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out.push('"');
}

/// A JSON string literal, escaped per RFC 8259.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    // Runs of characters that need no escape are copied whole: most text has none.
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| matches!(c, '"' | '\\') || c < ' ') {
        out.push_str(&rest[..at]);
        let c = rest[at..].chars().next().unwrap_or_default();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }
}
