//! The OTLP/JSON encoding of a segment: one `ExportTraceServiceRequest` per segment, as the
//! OpenTelemetry protocol specifies it for JSON (hex trace and span ids, `kind` as the numeric
//! enum, 64-bit times as decimal strings, lowerCamelCase field names).

use std::fmt::Write as _;

use super::resource::Resource;
use super::Batch;
use crate::span::{Segment, SpanKind, NO_SPAN};
use crate::tag::TagValue;

/// OpenTelemetry `Span.SpanKind` numbers.
fn kind_number(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Local => 1,
        SpanKind::Entry => 2,
        SpanKind::Exit => 3,
    }
}

/// Appends `segment` as one line of OTLP/JSON, newline included.
pub(crate) fn encode_segment(out: &mut String, segment: &Segment, batch: &Batch<'_>) {
    out.push_str(r#"{"resourceSpans":[{"resource":{"attributes":"#);
    encode_resource(out, batch.resource);
    out.push_str(r#"},"scopeSpans":[{"scope":{"name":"spanscope","version":""#);
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(r#""},"spans":["#);
    let segment_end = segment.spans[0].end.max(segment.spans.iter().map(|s| s.end).max().unwrap_or(0));
    for (index, span) in segment.spans.iter().enumerate() {
        let index = index as u32;
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"traceId":"{}","spanId":"{}""#, segment.trace_id, segment.span_id(index));
        let parent = if span.parent == NO_SPAN { segment.parent.as_ref().map(|p| p.span_id) } else { Some(segment.span_id(span.parent)) };
        if let Some(parent) = parent {
            let _ = write!(out, r#","parentSpanId":"{parent}""#);
        }
        if let Some(state) = segment.parent.as_ref().and_then(|p| p.trace_state.as_deref()) {
            out.push_str(r#","traceState":"#);
            push_json_string(out, state);
        }
        let _ = write!(out, r#","flags":{}"#, 0x100 | u32::from(segment.flags) | remote_parent_flag(segment, span.parent));
        out.push_str(r#","name":"#);
        push_json_string(out, &span.name);
        let end = if span.end == 0 { segment_end } else { span.end };
        let _ = write!(
            out,
            r#","kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":["#,
            kind_number(span.kind),
            batch.clock.unix_nanos(span.start),
            batch.clock.unix_nanos(end)
        );
        let mut first = true;
        for (_, meta, value) in segment.tags.iter().filter(|(i, _, _)| *i == index) {
            push_attribute(out, &mut first, meta.wire_name(), value);
        }
        if index == 0 && segment.profiled {
            // Grafana's trace-to-profile link: the local root span's id labels its CPU samples.
            push_attribute(out, &mut first, "pyroscope.profile.id", &TagValue::Str(segment.span_id(0).to_string().into()));
        }
        if let Some(peer) = segment.peer(index) {
            let (host, port) = split_host_port(peer);
            push_attribute(out, &mut first, "server.address", &TagValue::Str(host.to_owned().into()));
            if let Some(port) = port {
                push_attribute(out, &mut first, "server.port", &TagValue::I64(port.into()));
            }
        }
        out.push_str(r#"],"events":["#);
        let mut first_event = true;
        for log in segment.logs.iter().filter(|l| l.span == index) {
            if !first_event {
                out.push(',');
            }
            first_event = false;
            let _ = write!(out, r#"{{"timeUnixNano":"{}","name":"#, batch.clock.unix_nanos(log.tick));
            push_json_string(out, &log.name);
            out.push_str(r#","attributes":["#);
            let mut first = true;
            for (key, value) in &log.fields {
                push_attribute(out, &mut first, key, value);
            }
            out.push_str("]}");
        }
        out.push_str(r#"],"status":{"#);
        if span.error {
            let message = segment
                .logs
                .iter()
                .filter(|l| l.span == index)
                .flat_map(|l| &l.fields)
                .find(|(k, _)| *k == "exception.message")
                .map(|(_, v)| v.to_string());
            out.push_str(r#""code":2"#);
            if let Some(message) = message {
                out.push_str(r#","message":"#);
                push_json_string(out, &message);
            }
        }
        out.push_str("}}");
    }
    out.push_str("]}]}]}\n");
}

/// `SpanFlags`: bit 8 says whether the parent-is-remote bit (9) is known.
fn remote_parent_flag(segment: &Segment, parent: u32) -> u32 {
    let remote = parent == NO_SPAN
        && segment.parent.as_ref().is_some_and(|p| p.kind == crate::span::RefKind::CrossProcess);
    if remote { 0x200 } else { 0 }
}

fn encode_resource(out: &mut String, resource: &Resource) {
    out.push('[');
    let mut first = true;
    for (key, value) in &resource.attributes {
        push_attribute(out, &mut first, key, value);
    }
    out.push(']');
}

fn push_attribute(out: &mut String, first: &mut bool, key: &str, value: &TagValue) {
    if !*first {
        out.push(',');
    }
    *first = false;
    out.push_str(r#"{"key":"#);
    push_json_string(out, key);
    out.push_str(r#","value":{"#);
    match value {
        TagValue::Str(s) => {
            out.push_str(r#""stringValue":"#);
            push_json_string(out, s);
        }
        TagValue::I64(v) => {
            let _ = write!(out, r#""intValue":"{v}""#);
        }
        TagValue::U64(v) => match i64::try_from(*v) {
            Ok(v) => {
                let _ = write!(out, r#""intValue":"{v}""#);
            }
            // OTLP integers are signed 64-bit; larger values travel as their decimal text.
            Err(_) => {
                let _ = write!(out, r#""stringValue":"{v}""#);
            }
        },
        TagValue::F64(v) if v.is_finite() => {
            let _ = write!(out, r#""doubleValue":{v:?}"#);
        }
        TagValue::F64(v) => {
            // JSON has no NaN or infinity; ProtoJSON spells them as strings.
            let text = if v.is_nan() { "NaN" } else if *v > 0.0 { "Infinity" } else { "-Infinity" };
            let _ = write!(out, r#""doubleValue":"{text}""#);
        }
        TagValue::Bool(v) => {
            let _ = write!(out, r#""boolValue":{v}"#);
        }
    }
    out.push_str("}}");
}

/// `host:port`, `[v6]:port` or just a host.
pub(crate) fn split_host_port(peer: &str) -> (&str, Option<u16>) {
    if let Some(rest) = peer.strip_prefix('[') {
        if let Some((host, port)) = rest.split_once("]:") {
            return (host, port.parse().ok());
        }
        return (rest.trim_end_matches(']'), None);
    }
    match peer.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (peer, None),
        },
        _ => (peer, None),
    }
}

/// A JSON string literal, escaped per RFC 8259.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
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

    #[test]
    fn peers_split_into_host_and_port() {
        assert_eq!(split_host_port("inventory:8080"), ("inventory", Some(8080)));
        assert_eq!(split_host_port("[::1]:443"), ("::1", Some(443)));
        assert_eq!(split_host_port("::1"), ("::1", None));
        assert_eq!(split_host_port("db"), ("db", None));
        assert_eq!(split_host_port("db:x"), ("db:x", None));
    }
}
