//! The one mapping from segments to OpenTelemetry's data model, as `opentelemetry-proto`'s
//! types: the OTLP exporter sends them as protobuf, the local exporter writes them as OTLP/JSON.
//!
//! Kinds: entry → SERVER, exit → CLIENT, local → INTERNAL. An exit span's peer becomes
//! `server.address` and `server.port`; logs become events; the error flag becomes status ERROR
//! with the exception's message; the segment's parent is the first span's parent and also
//! its one link, whose attributes say how the segment was continued (cross-process or
//! cross-thread, and the caller's SkyWalking identity when `sw8` named it).

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind as ProtoKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::resource::Resource;
use crate::clock::Converter;
use crate::span::{RefKind, Segment, SpanKind, NO_SPAN};
use crate::tag::TagValue;

/// `SpanFlags`: bit 8 says the parent-is-remote bit (9) is meaningful.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// The resource as OTLP sends it.
pub(crate) fn resource(resource: &Resource) -> ProtoResource {
    ProtoResource {
        attributes: resource.attributes.iter().map(|(k, v)| key_value(k, v)).collect(),
        ..ProtoResource::default()
    }
}

/// A request carrying `spans` for `resource`, under spanscope's instrumentation scope.
pub(crate) fn request(resource: ProtoResource, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "spanscope".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Appends the spans of `segment`.
pub(crate) fn push_spans(segment: &Segment, clock: &Converter, out: &mut Vec<Span>) {
    let trace_id = segment.trace_id.to_int().to_be_bytes().to_vec();
    let trace_state = segment.propagated.trace_state.clone().unwrap_or_default();
    // A span that never ended (its future was dropped elsewhere) ends with its segment.
    let segment_end = segment.spans.iter().map(|s| s.end).max().unwrap_or(0);
    for (index, span) in segment.spans.iter().enumerate() {
        let index = index as u32;
        let (parent, remote) = match (span.parent, &segment.parent) {
            (NO_SPAN, Some(parent)) => (Some(parent.span_id), parent.kind == RefKind::CrossProcess),
            (NO_SPAN, None) => (None, false),
            (parent, _) => (Some(segment.span_id(parent)), false),
        };
        let end = if span.end == 0 { segment_end } else { span.end };
        let mut attributes: Vec<KeyValue> = segment
            .tags
            .iter()
            .filter(|(i, _, _)| *i == index)
            .map(|(_, meta, value)| key_value(meta.wire_name(), value))
            .collect();
        if index == 0 && segment.profiled {
            // Grafana's trace-to-profile link: the local root span's id labels its CPU samples.
            attributes
                .push(key_value("pyroscope.profile.id", &TagValue::Str(Cow::Owned(segment.span_id(0).to_string()))));
        }
        if let Some(peer) = segment.peer(index) {
            let (host, port) = split_host_port(peer);
            attributes.push(key_value("server.address", &TagValue::Str(Cow::Owned(host.to_owned()))));
            if let Some(port) = port {
                attributes.push(key_value("server.port", &TagValue::I64(port.into())));
            }
        }
        let logs = segment.logs.iter().filter(|l| l.span == index);
        let events = logs
            .clone()
            .map(|log| Event {
                time_unix_nano: clock.unix_nanos(log.tick),
                name: log.name.to_string(),
                attributes: log.fields.iter().map(|(k, v)| key_value(k, v)).collect(),
                dropped_attributes_count: 0,
            })
            .collect();
        let status = span.error.then(|| Status {
            message: logs
                .flat_map(|l| &l.fields)
                .find(|(k, _)| *k == "exception.message")
                .map(|(_, v)| v.to_string())
                .unwrap_or_default(),
            code: StatusCode::Error as i32,
        });
        let links = if index == 0 { link(segment).into_iter().collect() } else { Vec::new() };
        out.push(Span {
            trace_id: trace_id.clone(),
            span_id: segment.span_id(index).to_int().to_be_bytes().to_vec(),
            trace_state: trace_state.clone(),
            parent_span_id: parent.map_or_else(Vec::new, |p| p.to_int().to_be_bytes().to_vec()),
            flags: HAS_IS_REMOTE | u32::from(segment.flags) | if remote { IS_REMOTE } else { 0 },
            name: span.name.to_string(),
            kind: kind(span.kind) as i32,
            start_time_unix_nano: clock.unix_nanos(span.start),
            end_time_unix_nano: clock.unix_nanos(end),
            attributes,
            dropped_attributes_count: 0,
            events,
            dropped_events_count: 0,
            links,
            dropped_links_count: 0,
            status,
        });
    }
}

fn kind(kind: SpanKind) -> ProtoKind {
    match kind {
        SpanKind::Local => ProtoKind::Internal,
        SpanKind::Entry => ProtoKind::Server,
        SpanKind::Exit => ProtoKind::Client,
    }
}

/// The segment's reference to the span it continues.
fn link(segment: &Segment) -> Option<Link> {
    let parent = segment.parent.as_ref()?;
    let remote = parent.kind == RefKind::CrossProcess;
    let mut attributes =
        vec![key_value("spanscope.ref.type", &TagValue::from(if remote { "cross_process" } else { "cross_thread" }))];
    if let Some(sw8) = &parent.sw8 {
        for (key, value) in [
            ("skywalking.parent.service", &sw8.service),
            ("skywalking.parent.service_instance", &sw8.instance),
            ("skywalking.parent.endpoint", &sw8.endpoint),
            ("skywalking.parent.segment_id", &sw8.segment_id),
            ("skywalking.network_address_used_at_peer", &sw8.peer),
        ] {
            attributes.push(key_value(key, &TagValue::Str(Cow::Owned(value.clone()))));
        }
        attributes.push(key_value("skywalking.parent.span_id", &TagValue::I64(sw8.span_index.into())));
    }
    Some(Link {
        trace_id: parent.trace_id.to_int().to_be_bytes().to_vec(),
        span_id: parent.span_id.to_int().to_be_bytes().to_vec(),
        trace_state: segment.propagated.trace_state.clone().unwrap_or_default(),
        attributes,
        dropped_attributes_count: 0,
        flags: HAS_IS_REMOTE | u32::from(parent.flags) | if remote { IS_REMOTE } else { 0 },
    })
}

pub(crate) fn key_value(key: &str, value: &TagValue) -> KeyValue {
    let value = match value {
        TagValue::Str(s) => any_value::Value::StringValue(s.to_string()),
        TagValue::I64(v) => any_value::Value::IntValue(*v),
        // OTLP integers are signed 64-bit; larger values travel as their decimal text.
        TagValue::U64(v) => {
            i64::try_from(*v).map_or_else(|_| any_value::Value::StringValue(v.to_string()), any_value::Value::IntValue)
        }
        TagValue::F64(v) => any_value::Value::DoubleValue(*v),
        TagValue::Bool(v) => any_value::Value::BoolValue(*v),
    };
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..KeyValue::default() }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_split_into_host_and_port() {
        assert_eq!(split_host_port("inventory:8080"), ("inventory", Some(8080)));
        assert_eq!(split_host_port("[::1]:443"), ("::1", Some(443)));
        assert_eq!(split_host_port("::1"), ("::1", None));
        assert_eq!(split_host_port("db"), ("db", None));
        assert_eq!(split_host_port("db:x"), ("db:x", None));
    }
}
