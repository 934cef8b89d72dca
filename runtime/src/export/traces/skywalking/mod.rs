//! The SkyWalking exporter: segments over `skywalking.v3.TraceSegmentReportService/collect`, one
//! client stream per batch (completed when the batch is sent, so the OAP answers and the
//! stream never stays open), mapped as the official agents map them:
//!
//! - trace id: the caller's SkyWalking trace id when `sw8` brought one that is not our 32-hex
//!   id, else ours in hex; segment id: ours in hex;
//! - span ids: indexes in the segment, parent span id -1 for the first span; times in ms;
//! - refs on the first span: cross-thread (parent segment and span index, our own service and
//!   instance, the parent's endpoint) or cross-process from `sw8`; a W3C-only caller has none;
//! - span type entry/exit/local, layer HTTP for entries (as the Rust agent does) and Unknown
//!   otherwise, component 11000 (Rust) unless `SPANSCOPE_SW_COMPONENT_ID` says otherwise, the
//!   exit span's peer, error flag, tags as strings, logs (an `exception` log becomes the Java
//!   agent's `event=error`, `error.kind`, `message`), skipAnalysis from `sw8-x`.
//!
//! `SW_AGENT_AUTHENTICATION` travels as the `authentication` metadata of every call (a token
//! that is not printable ASCII cannot, and stops start-up). The instance registers and keeps
//! alive on `ManagementService` ([`management`]). The heartbeat period and the
//! upstream timeout are whole seconds from 1 to 3600.

pub(crate) mod management;

use std::time::Duration;

use bytes::Bytes;
use http::uri::PathAndQuery;
use prost::Message;
use tonic::client::Grpc;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::Channel;

use crate::clock::Converter;
use crate::config::env::{is_header_text, items, parse_bool, parse_count, parse_seconds, Vars, MAX_COUNT, MAX_SECONDS};
use crate::config::ConfigError;
use crate::export::resource::Resource;
use crate::export::transport::grpc::{self, GrpcTarget, PreEncoded};
use crate::export::transport::http_client::HttpTarget;
use crate::export::{Batch, ExportError, Exporter, Sent};
use crate::id::TraceId;
use crate::proto::skywalking::{
    Commands, KeyStringValuePair, Log, RefType, SegmentObject, SegmentReference, SpanLayer, SpanObject, SpanType,
};
use crate::span::{RefKind, Segment, SpanKind, SpanLog, NO_SPAN};

const COLLECT_PATH: &str = "/skywalking.v3.TraceSegmentReportService/collect";
/// SkyWalking's component id for Rust (`component-libraries.yml`).
const RUST_COMPONENT: i32 = 11000;

/// The SkyWalking exporter's settings (the Java agent's variable names where it has one).
#[derive(Debug, Clone)]
pub(crate) struct SkywalkingSettings {
    pub targets: Vec<GrpcTarget>,
    pub authentication: Option<String>,
    pub component_id: i32,
    pub heartbeat: Duration,
    /// Instance properties are sent again every this many heartbeats.
    pub properties_factor: u32,
    pub timeout: Duration,
}

impl SkywalkingSettings {
    pub(crate) fn resolve(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let force_tls = vars.read("SW_AGENT_FORCE_TLS", parse_bool)?.unwrap_or(false);
        let ca = vars.read("SW_AGENT_SSL_TRUSTED_CA_PATH", crate::export::transport::tls::read_ca)?;
        let (name, backends) = vars
            .get("SW_AGENT_COLLECTOR_BACKEND_SERVICES")?
            .unwrap_or(("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "127.0.0.1:11800".to_owned()));
        let mut targets = Vec::new();
        for address in items(&backends) {
            let uri = match address.split_once("://") {
                Some(("https", _)) => address.to_owned(),
                Some(("http", rest)) if force_tls => format!("https://{rest}"),
                Some(("http", _)) => address.to_owned(),
                Some(_) => return Err(ConfigError::new(name, &backends, "comma-separated host:port addresses")),
                None if force_tls => format!("https://{address}"),
                None => format!("http://{address}"),
            };
            HttpTarget::parse(name, &uri)?;
            targets.push(GrpcTarget { uri, ca: ca.clone() });
        }
        if targets.is_empty() {
            return Err(ConfigError::new(name, &backends, "comma-separated host:port addresses"));
        }
        // Sent as gRPC metadata: a token that cannot be is refused rather than left out.
        let authentication = vars.get("SW_AGENT_AUTHENTICATION")?.map(|(name, token)| {
            let token = token.trim().to_owned();
            if is_header_text(&token) && MetadataValue::try_from(token.as_str()).is_ok() {
                Ok(token)
            } else {
                Err(ConfigError::secret(name, "a token of visible ASCII characters"))
            }
        });
        let seconds = |name| vars.read(name, |var| parse_seconds(var, 1..=MAX_SECONDS));
        Ok(Self {
            targets,
            authentication: authentication.transpose()?,
            component_id: vars
                .read("SPANSCOPE_SW_COMPONENT_ID", |var| parse_count(var, 0..=i32::MAX))?
                .unwrap_or(RUST_COMPONENT),
            heartbeat: seconds("SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD")?.unwrap_or(Duration::from_secs(30)),
            properties_factor: vars
                .read("SW_AGENT_COLLECTOR_PROPERTIES_REPORT_PERIOD_FACTOR", |var| {
                    parse_count(var, 1..=MAX_COUNT as u32)
                })?
                .unwrap_or(10),
            timeout: seconds("SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT")?.unwrap_or(Duration::from_secs(30)),
        })
    }
}

/// Who reports: the names every segment and reference carry.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub service: String,
    pub instance: String,
    pub component_id: i32,
}

/// Reports segments to a SkyWalking OAP.
#[derive(Debug)]
pub(crate) struct SkywalkingExporter {
    identity: Identity,
    oap: OapClient,
}

impl SkywalkingExporter {
    /// Connects lazily and starts the instance's registration and heartbeat.
    pub(crate) fn new(config: SkywalkingSettings, resource: &Resource) -> Self {
        let identity = Identity {
            service: resource.service.clone(),
            instance: resource.instance.clone(),
            component_id: config.component_id,
        };
        let oap = OapClient::new(&config, "", config.timeout);
        if let Ok(grpc) = &oap.grpc {
            tokio::task::spawn_local(management::run(management::Heartbeat {
                grpc: grpc.clone(),
                metadata: oap.metadata.clone(),
                identity: identity.clone(),
                hostname: resource.hostname.clone(),
                period: config.heartbeat,
                properties_factor: config.properties_factor,
                timeout: config.timeout,
            }));
        }
        Self { identity, oap }
    }
}

impl Exporter for SkywalkingExporter {
    type Load = Batch;
    /// One encoded `SegmentObject` per segment.
    type Payload = Vec<Bytes>;

    fn name(&self) -> &str {
        &self.oap.name
    }

    fn timeout(&self) -> Duration {
        self.oap.timeout
    }

    fn encode(&mut self, batch: &Batch) -> Vec<Bytes> {
        batch
            .segments
            .iter()
            .map(|segment| segment_object(segment, &batch.clock, &self.identity).encode_to_vec().into())
            .collect()
    }

    async fn send(&mut self, segments: &Vec<Bytes>) -> Result<Sent, ExportError> {
        self.oap.client_stream(COLLECT_PATH, segments).await?;
        Ok(Sent::default())
    }
}

/// A client of the OAP, as each SkyWalking exporter (segments, meters, logs) holds one: the
/// channel to the backend addresses (connected lazily), the `authentication` metadata every
/// call carries, and the bound of each call.
#[derive(Debug)]
pub(crate) struct OapClient {
    /// The exporter's name in messages: `skywalking (addresses)`, `skywalking logs (...)`.
    pub name: String,
    grpc: Result<Grpc<Channel>, String>,
    metadata: MetadataMap,
    pub timeout: Duration,
}

impl OapClient {
    /// A client of the OAP `settings` name, reporting `what` (empty for segments), each call
    /// bounded by `timeout`.
    pub(crate) fn new(settings: &SkywalkingSettings, what: &str, timeout: Duration) -> Self {
        let addresses: Vec<&str> = settings.targets.iter().map(|t| t.uri.as_str()).collect();
        let separator = if what.is_empty() { "" } else { " " };
        Self {
            name: format!("skywalking{separator}{what} ({})", addresses.join(",")),
            grpc: grpc::channel(&settings.targets, timeout).map(Grpc::new),
            metadata: metadata(settings.authentication.as_deref()),
            timeout,
        }
    }

    /// Sends `messages` as one client stream to the OAP's `path` and waits for its `Commands`:
    /// how segments, meters and logs are all reported. No messages: no call.
    pub(crate) async fn client_stream(&mut self, path: &'static str, messages: &[Bytes]) -> Result<(), ExportError> {
        if messages.is_empty() {
            return Ok(());
        }
        let grpc = self.grpc.as_mut().map_err(|e| ExportError::Rejected(e.clone()))?;
        grpc.ready().await.map_err(|e| ExportError::retryable(format!("unavailable: {e}")))?;
        let request = grpc::request(tokio_stream::iter(messages.to_vec()), &self.metadata, self.timeout);
        grpc.client_streaming(request, PathAndQuery::from_static(path), PreEncoded::<Commands>::default())
            .await
            .map_err(|status| grpc::classify(&status))?;
        Ok(())
    }
}

/// The metadata every call to the OAP carries: `authentication` when a token is set.
fn metadata(authentication: Option<&str>) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    // Checked at `init`: a set token converts.
    if let Some(value) = authentication.filter(|token| !token.is_empty()).and_then(|t| MetadataValue::try_from(t).ok())
    {
        metadata.insert("authentication", value);
    }
    metadata
}

/// A segment as the OAP receives it.
pub(crate) fn segment_object(segment: &Segment, clock: &Converter, identity: &Identity) -> SegmentObject {
    let trace_id = trace_id(segment.propagated.sw_trace_id.as_deref(), segment.trace_id);
    let millis = |tick| (clock.unix_nanos(tick) / 1_000_000) as i64;
    let spans = segment
        .spans
        .iter()
        .enumerate()
        .map(|(index, span)| {
            let index = index as u32;
            // `transmission.latency` (from `sw8-x`) is among the tags: the entry span records it.
            let tags: Vec<KeyStringValuePair> = segment
                .tags
                .iter()
                .filter(|(i, _, _)| *i == index)
                .map(|(_, meta, value)| pair(meta.wire_name(), value.to_string()))
                .collect();
            let mut refs = Vec::new();
            if index == 0 {
                refs.extend(reference(segment, &trace_id, identity));
            }
            SpanObject {
                span_id: index as i32,
                parent_span_id: if span.parent == NO_SPAN { -1 } else { span.parent as i32 },
                start_time: millis(span.start),
                end_time: millis(span.end),
                refs,
                operation_name: span.name.to_string(),
                peer: segment.peer(index).unwrap_or_default().to_owned(),
                span_type: match span.kind {
                    SpanKind::Entry => SpanType::Entry,
                    SpanKind::Exit => SpanType::Exit,
                    SpanKind::Local => SpanType::Local,
                } as i32,
                span_layer: if span.kind == SpanKind::Entry { SpanLayer::Http } else { SpanLayer::Unknown } as i32,
                component_id: identity.component_id,
                is_error: span.error,
                tags,
                logs: segment.logs.iter().filter(|l| l.span == index).map(|l| log(l, clock)).collect(),
                skip_analysis: segment.propagated.skip_analysis,
            }
        })
        .collect();
    SegmentObject {
        trace_id,
        trace_segment_id: segment.id.to_string(),
        spans,
        service: identity.service.clone(),
        service_instance: identity.instance.clone(),
        is_size_limited: segment.dropped_spans > 0,
    }
}

/// A trace id as the OAP knows it: the caller's SkyWalking trace id when `sw8` brought one that
/// is not 32 hex digits (`sw_trace_id`), else ours in hex. Segments and logs both use it.
pub(crate) fn trace_id(sw_trace_id: Option<&str>, trace_id: TraceId) -> String {
    match sw_trace_id {
        Some(id) => id.to_owned(),
        None => trace_id.to_string(),
    }
}

/// The first span's reference to the segment it continues; none for a W3C-only caller.
fn reference(segment: &Segment, trace_id: &str, identity: &Identity) -> Option<SegmentReference> {
    let parent = segment.parent.as_ref()?;
    match parent.kind {
        RefKind::CrossThread => {
            let (parent_segment, parent_span) = parent.segment?;
            Some(SegmentReference {
                ref_type: RefType::CrossThread as i32,
                trace_id: trace_id.to_owned(),
                parent_trace_segment_id: parent_segment.to_string(),
                parent_span_id: parent_span as i32,
                parent_service: identity.service.clone(),
                parent_service_instance: identity.instance.clone(),
                parent_endpoint: parent.endpoint.as_deref().unwrap_or_default().to_owned(),
                network_address_used_at_peer: String::new(),
            })
        }
        RefKind::CrossProcess => {
            let sw8 = parent.sw8.as_ref()?;
            Some(SegmentReference {
                ref_type: RefType::CrossProcess as i32,
                trace_id: trace_id.to_owned(),
                parent_trace_segment_id: sw8.segment_id().to_owned(),
                parent_span_id: sw8.span_index,
                parent_service: sw8.service().to_owned(),
                parent_service_instance: sw8.instance().to_owned(),
                parent_endpoint: sw8.endpoint().to_owned(),
                network_address_used_at_peer: sw8.peer().to_owned(),
            })
        }
    }
}

fn log(log: &SpanLog, clock: &Converter) -> Log {
    let field = |key: &str| log.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string()).unwrap_or_default();
    let data = if log.name == "exception" {
        vec![
            pair("event", "error".to_owned()),
            pair("error.kind", field("exception.type")),
            pair("message", field("exception.message")),
        ]
    } else {
        std::iter::once(pair("event", log.name.to_string()))
            .chain(log.fields.iter().map(|(k, v)| pair(k, v.to_string())))
            .collect()
    };
    Log { time: (clock.unix_nanos(log.tick) / 1_000_000) as i64, data }
}

fn pair(key: &str, value: String) -> KeyStringValuePair {
    KeyStringValuePair { key: key.to_owned(), value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&'static str, &str)]) -> Result<SkywalkingSettings, ConfigError> {
        SkywalkingSettings::resolve(&Vars::of(vars))
    }

    #[test]
    fn addresses_tls_and_defaults() {
        let config = resolve(&[]).unwrap();
        assert_eq!(config.targets[0].uri, "http://127.0.0.1:11800");
        assert_eq!(config.component_id, 11000);
        assert_eq!(config.heartbeat, Duration::from_secs(30));
        let config = resolve(&[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "oap1:11800, https://oap2:11800")]).unwrap();
        let uris: Vec<_> = config.targets.iter().map(|t| t.uri.as_str()).collect();
        assert_eq!(uris, ["http://oap1:11800", "https://oap2:11800"]);
        let config =
            resolve(&[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "oap:11800"), ("SW_AGENT_FORCE_TLS", "true")]).unwrap();
        assert_eq!(config.targets[0].uri, "https://oap:11800");
        for (name, value) in [
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "ftp://oap"),
            ("SW_AGENT_FORCE_TLS", "yes"),
            ("SPANSCOPE_SW_COMPONENT_ID", "rust"),
            ("SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD", "0"),
            ("SW_AGENT_SSL_TRUSTED_CA_PATH", "/nonexistent"),
        ] {
            assert_eq!(resolve(&[(name, value)]).unwrap_err().variable(), name);
        }
    }

    #[test]
    fn values_that_cannot_work_name_their_variable_without_echoing_the_token() {
        for (name, value) in [
            // tonic panics on a deadline past 8 digits of hours; a heartbeat timer overflows.
            ("SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT", "400000000000000"),
            ("SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT", "3601"),
            ("SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT", "0"),
            ("SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD", "18446744073709551615"),
            ("SW_AGENT_COLLECTOR_PROPERTIES_REPORT_PERIOD_FACTOR", "0"),
            ("SW_AGENT_COLLECTOR_PROPERTIES_REPORT_PERIOD_FACTOR", "4294967296"),
            ("SPANSCOPE_SW_COMPONENT_ID", "2147483648"),
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", " , "),
            ("SW_AGENT_AUTHENTICATION", "s3cr3t\u{7}token"),
            ("SW_AGENT_AUTHENTICATION", "s3cr3t\u{e9}"),
        ] {
            let err = resolve(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable(), name, "{value}: {err}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
        let config = resolve(&[
            ("SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT", "3600"),
            ("SW_AGENT_AUTHENTICATION", " token "),
            ("SW_AGENT_FORCE_TLS", "TRUE"),
        ])
        .unwrap();
        assert_eq!((config.timeout, config.authentication.as_deref()), (Duration::from_secs(3600), Some("token")));
    }
}
