//! The one mapping from segments to OpenTelemetry's data model, as borrowed views of the
//! segment: [`json`](super::json) writes them as OTLP/JSON without building anything, and
//! [`push_spans`] turns them into `opentelemetry-proto`'s types for protobuf.
//!
//! Kinds: entry → SERVER, exit → CLIENT, local → INTERNAL. An exit span's peer becomes
//! `server.address` and `server.port`; logs become events; the error flag becomes status ERROR
//! with the exception's message; the segment's parent is the first span's parent and also
//! its one link, whose attributes say how the segment was continued (cross-process or
//! cross-thread, and the caller's SkyWalking identity when `sw8` named it).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind as ProtoKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::clock::Converter;
use crate::export::resource::Resource;
use crate::id::{SpanId, TraceId};
use crate::span::{ParentContext, RefKind, Segment, SpanKind, SpanLog, SpanRecord};
use crate::tag::TagValue;

/// `SpanFlags`: bit 8 says the parent-is-remote bit (9) is meaningful.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// `Status.code` of a failed span.
pub(crate) const STATUS_ERROR: u64 = StatusCode::Error as u64;

/// The instrumentation scope every span is reported under.
pub(crate) const SCOPE_NAME: &str = "spanscope";
pub(crate) const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// An attribute value as OTLP types it, borrowed from the segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A string value: the id as 16 lowercase hex digits.
    Id(SpanId),
    /// A string value: an integer too large for OTLP's signed 64 bits, in decimal.
    Decimal(u64),
}

impl<'a> From<&'a TagValue> for Value<'a> {
    fn from(value: &'a TagValue) -> Self {
        match value {
            TagValue::Str(s) => Value::Str(s),
            TagValue::I64(v) => Value::Int(*v),
            TagValue::U64(v) => i64::try_from(*v).map_or(Value::Decimal(*v), Value::Int),
            TagValue::F64(v) => Value::Double(*v),
            TagValue::Bool(v) => Value::Bool(*v),
        }
    }
}

impl<'a> From<crate::logs::Value<'a>> for Value<'a> {
    fn from(value: crate::logs::Value<'a>) -> Self {
        use crate::logs::Value as Log;
        match value {
            Log::Str(s) => Value::Str(s),
            Log::I64(v) => Value::Int(v),
            Log::U64(v) => i64::try_from(v).map_or(Value::Decimal(v), Value::Int),
            Log::F64(v) => Value::Double(v),
            Log::Bool(v) => Value::Bool(v),
        }
    }
}

/// The spans of `segment`, in recording order.
pub(crate) fn spans<'a>(segment: &'a Segment, clock: &'a Converter) -> impl Iterator<Item = SpanView<'a>> {
    let records = segment.spans.iter().enumerate();
    records.map(move |(index, record)| SpanView { segment, record, index: index as u32, clock })
}

/// One span of a segment, as OTLP sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanView<'a> {
    segment: &'a Segment,
    record: &'a SpanRecord,
    index: u32,
    clock: &'a Converter,
}

impl<'a> SpanView<'a> {
    pub(crate) fn trace_id(&self) -> TraceId {
        self.segment.trace_id
    }

    pub(crate) fn span_id(&self) -> SpanId {
        self.segment.span_id(self.index)
    }

    pub(crate) fn parent_span_id(&self) -> Option<SpanId> {
        self.segment.parent_of(self.index).map(|(id, _)| id)
    }

    /// W3C `tracestate`; empty when there is none.
    pub(crate) fn trace_state(&self) -> &'a str {
        self.segment.propagated.trace_state.as_deref().unwrap_or_default()
    }

    /// `SpanFlags`: the W3C flags and whether the parent is remote.
    pub(crate) fn flags(&self) -> u32 {
        flags(self.segment.flags, self.segment.parent_of(self.index).is_some_and(|(_, remote)| remote))
    }

    pub(crate) fn name(&self) -> &'a str {
        &self.record.name
    }

    #[cfg(feature = "testing")]
    pub(crate) fn span_kind(&self) -> SpanKind {
        self.record.kind
    }

    pub(crate) fn kind(&self) -> ProtoKind {
        match self.record.kind {
            SpanKind::Local => ProtoKind::Internal,
            SpanKind::Entry => ProtoKind::Server,
            SpanKind::Exit => ProtoKind::Client,
        }
    }

    pub(crate) fn start_time_unix_nano(&self) -> u64 {
        self.clock.unix_nanos(self.record.start)
    }

    pub(crate) fn end_time_unix_nano(&self) -> u64 {
        self.clock.unix_nanos(self.record.end)
    }

    /// Calls `visit` with each attribute: the span's tags, the profile link on the local root,
    /// and an exit span's peer.
    pub(crate) fn attributes(&self, mut visit: impl FnMut(&str, Value<'_>)) {
        let segment = self.segment;
        for (_, meta, value) in segment.tags.iter().filter(|(i, _, _)| *i == self.index) {
            visit(meta.wire_name(), value.into());
        }
        if self.index == 0 && segment.profiled {
            // Grafana's trace-to-profile link: the local root span's id labels its CPU samples.
            visit("pyroscope.profile.id", Value::Id(segment.span_id(0)));
        }
        if let Some(peer) = segment.peer(self.index) {
            let (host, port) = split_host_port(peer);
            visit("server.address", Value::Str(host));
            if let Some(port) = port {
                visit("server.port", Value::Int(port.into()));
            }
        }
    }

    /// The span's logs, as events.
    pub(crate) fn events(&self) -> impl Iterator<Item = EventView<'a>> + use<'a> {
        let (index, clock) = (self.index, self.clock);
        let logs = self.segment.logs.iter().filter(move |log| log.span == index);
        logs.map(move |log| EventView { time_unix_nano: clock.unix_nanos(log.tick), log })
    }

    /// `Some(message)` when the span failed (status ERROR); the message may be empty.
    pub(crate) fn error(&self) -> Option<&'a str> {
        if !self.record.error {
            return None;
        }
        let fields = self.segment.logs.iter().filter(|log| log.span == self.index).flat_map(|log| &log.fields);
        let message = fields.filter(|(key, _)| *key == "exception.message").find_map(|(_, value)| match value {
            TagValue::Str(message) => Some(&**message),
            _ => None,
        });
        Some(message.unwrap_or_default())
    }

    /// The segment's reference to the span it continues, on its first span.
    pub(crate) fn link(&self) -> Option<LinkView<'a>> {
        let parent = self.segment.parent.as_ref().filter(|_| self.index == 0)?;
        Some(LinkView { parent, trace_state: self.trace_state() })
    }
}

/// A span log, as an OTLP event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventView<'a> {
    pub time_unix_nano: u64,
    log: &'a SpanLog,
}

impl<'a> EventView<'a> {
    pub(crate) fn name(&self) -> &'a str {
        &self.log.name
    }

    pub(crate) fn attributes(&self, mut visit: impl FnMut(&str, Value<'_>)) {
        for (key, value) in &self.log.fields {
            visit(key, value.into());
        }
    }
}

/// The link from a segment's first span to the span the segment continues.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkView<'a> {
    parent: &'a ParentContext,
    pub trace_state: &'a str,
}

impl LinkView<'_> {
    pub(crate) fn trace_id(&self) -> TraceId {
        self.parent.trace_id
    }

    pub(crate) fn span_id(&self) -> SpanId {
        self.parent.span_id
    }

    pub(crate) fn flags(&self) -> u32 {
        flags(self.parent.flags, self.is_remote())
    }

    /// Whether the linked span is in another process.
    pub(crate) fn is_remote(&self) -> bool {
        self.parent.kind == RefKind::CrossProcess
    }

    /// How the segment continues its parent, and the caller's SkyWalking identity when `sw8`
    /// named it.
    pub(crate) fn attributes(&self, mut visit: impl FnMut(&str, Value<'_>)) {
        let remote = self.is_remote();
        visit("spanscope.ref.type", Value::Str(if remote { "cross_process" } else { "cross_thread" }));
        if let Some(sw8) = &self.parent.sw8 {
            for (key, value) in [
                ("skywalking.parent.service", sw8.service()),
                ("skywalking.parent.service_instance", sw8.instance()),
                ("skywalking.parent.endpoint", sw8.endpoint()),
                ("skywalking.parent.segment_id", sw8.segment_id()),
                ("skywalking.network_address_used_at_peer", sw8.peer()),
            ] {
                visit(key, Value::Str(value));
            }
            visit("skywalking.parent.span_id", Value::Int(sw8.span_index.into()));
        }
    }
}

fn flags(w3c: u8, remote: bool) -> u32 {
    HAS_IS_REMOTE | u32::from(w3c) | if remote { IS_REMOTE } else { 0 }
}

/// The resource as OTLP sends it.
pub(crate) fn resource(resource: &Resource) -> ProtoResource {
    ProtoResource {
        attributes: resource.attributes.iter().map(|(k, v)| key_value(k, v.into())).collect(),
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
                    name: SCOPE_NAME.to_owned(),
                    version: SCOPE_VERSION.to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Appends the spans of `segment` as `opentelemetry-proto` messages.
pub(crate) fn push_spans(segment: &Segment, clock: &Converter, out: &mut Vec<Span>) {
    for span in spans(segment, clock) {
        out.push(Span {
            trace_id: span.trace_id().to_int().to_be_bytes().to_vec(),
            span_id: span.span_id().to_int().to_be_bytes().to_vec(),
            trace_state: span.trace_state().to_owned(),
            parent_span_id: span.parent_span_id().map_or_else(Vec::new, |p| p.to_int().to_be_bytes().to_vec()),
            flags: span.flags(),
            name: span.name().to_owned(),
            kind: span.kind() as i32,
            start_time_unix_nano: span.start_time_unix_nano(),
            end_time_unix_nano: span.end_time_unix_nano(),
            attributes: key_values(|visit| span.attributes(visit)),
            dropped_attributes_count: 0,
            events: span
                .events()
                .map(|event| Event {
                    time_unix_nano: event.time_unix_nano,
                    name: event.name().to_owned(),
                    attributes: key_values(|visit| event.attributes(visit)),
                    dropped_attributes_count: 0,
                })
                .collect(),
            dropped_events_count: 0,
            links: span
                .link()
                .map(|link| Link {
                    trace_id: link.trace_id().to_int().to_be_bytes().to_vec(),
                    span_id: link.span_id().to_int().to_be_bytes().to_vec(),
                    trace_state: link.trace_state.to_owned(),
                    attributes: key_values(|visit| link.attributes(visit)),
                    dropped_attributes_count: 0,
                    flags: link.flags(),
                })
                .into_iter()
                .collect(),
            dropped_links_count: 0,
            status: span.error().map(|message| Status { message: message.to_owned(), code: STATUS_ERROR as i32 }),
        });
    }
}

/// The attributes a view visits, as `KeyValue`s.
fn key_values(attributes: impl FnOnce(&mut dyn FnMut(&str, Value<'_>))) -> Vec<KeyValue> {
    let mut out = Vec::new();
    attributes(&mut |key, value| out.push(key_value(key, value)));
    out
}

pub(crate) fn key_value(key: &str, value: Value<'_>) -> KeyValue {
    let value = match value {
        Value::Str(s) => any_value::Value::StringValue(s.to_owned()),
        Value::Int(v) => any_value::Value::IntValue(v),
        Value::Double(v) => any_value::Value::DoubleValue(v),
        Value::Bool(v) => any_value::Value::BoolValue(v),
        Value::Id(id) => any_value::Value::StringValue(id.to_string()),
        Value::Decimal(v) => any_value::Value::StringValue(v.to_string()),
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
