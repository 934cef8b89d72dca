//! The OTLP exporter: `ExportTraceServiceRequest`s over gRPC
//! (`opentelemetry.proto.collector.trace.v1.TraceService/Export`), HTTP/protobuf or HTTP/JSON
//! (`POST .../v1/traces`), configured by the standard `OTEL_EXPORTER_OTLP_*` variables.
//!
//! Endpoint rules (OTLP exporter specification): a per-signal `..._TRACES_ENDPOINT` is used as
//! given; the generic `OTEL_EXPORTER_OTLP_ENDPOINT` is used as given for gRPC and gets
//! `/v1/traces` appended for HTTP; the defaults are `http://localhost:4317` (gRPC, the default
//! protocol here) and `http://localhost:4318/v1/traces`. `..._TRACES_*` variables win over the
//! generic ones. A scheme-less gRPC endpoint (`collector:4317`) means plain `http://`.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use prost::Message;
use tonic::client::Grpc;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::backends::Lookup;
use super::grpc::{self, GrpcTarget};
use super::gzip::{gzip, Compression};
use super::http_client::{self, HttpClient, HttpTarget};
use super::otlp_json::RequestWriter;
use super::resource::Resource;
use super::{otlp_model, Batch, ExportError, Exporter, Sent};
use crate::config::{parse_millis, percent_decode, ConfigError};

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// How requests travel (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// The OTLP exporter's settings.
#[derive(Debug, Clone)]
pub(crate) struct OtlpConfig {
    pub protocol: Protocol,
    /// The full URL requests go to (for gRPC, the server's; the method path is implied).
    pub endpoint: String,
    pub headers: HeaderMap,
    pub gzip: bool,
    pub timeout: Duration,
    /// Extra trusted CA certificates, PEM (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub ca: Option<Vec<u8>>,
}

impl OtlpConfig {
    pub(crate) fn resolve(var: Lookup<'_>) -> Result<Self, ConfigError> {
        let pick = |signal: &'static str, generic: &'static str| var(signal).or_else(|| var(generic));
        let protocol = match pick("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") {
            None => Protocol::Grpc,
            Some((name, value)) => match value.trim() {
                "grpc" => Protocol::Grpc,
                "http/protobuf" => Protocol::HttpProtobuf,
                "http/json" => Protocol::HttpJson,
                _ => return Err(ConfigError::new(name, &value, "one of grpc, http/protobuf, http/json")),
            },
        };
        let grpc = protocol == Protocol::Grpc;
        let endpoint = match (var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), var("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some((name, value)), _) => check_url(name, value.trim(), grpc)?,
            (None, Some((name, value))) if grpc => check_url(name, value.trim(), grpc)?,
            (None, Some((name, value))) => {
                format!("{}/v1/traces", check_url(name, value.trim(), grpc)?.trim_end_matches('/'))
            }
            (None, None) if grpc => "http://localhost:4317".to_owned(),
            (None, None) => "http://localhost:4318/v1/traces".to_owned(),
        };
        let mut headers = HeaderMap::new();
        for name in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            if let Some(var) = var(name) {
                for (key, value) in parse_headers(var)? {
                    headers.insert(key, value);
                }
            }
        }
        let gzip = match pick("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION") {
            None => false,
            Some((name, value)) => match value.trim() {
                "gzip" => true,
                "none" => false,
                _ => return Err(ConfigError::new(name, &value, "gzip or none")),
            },
        };
        let timeout =
            parse_millis(pick("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"), None, 10_000)?;
        let ca = pick("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE")
            .map(super::tls::read_ca)
            .transpose()?;
        Ok(Self { protocol, endpoint, headers, gzip, timeout, ca })
    }
}

/// Checks an endpoint URL; a scheme-less gRPC endpoint gets `http://`.
fn check_url(name: &'static str, url: &str, grpc: bool) -> Result<String, ConfigError> {
    let url = if grpc && !url.contains("://") { format!("http://{url}") } else { url.to_owned() };
    // The HTTP client's parser is the strictest of the two; gRPC endpoints must pass it too.
    HttpTarget::parse(name, &url)?;
    if grpc && url.starts_with("unix://") {
        return Err(ConfigError::new(name, &url, "an http:// or https:// URL"));
    }
    Ok(url)
}

/// `key1=value1,key2=value2`, values percent-encoded (W3C Baggage octets).
fn parse_headers((name, value): crate::config::Var) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    // Header values are often API keys: errors never echo them.
    let invalid = || ConfigError::secret(name, "comma-separated key=value pairs, values percent-encoded");
    let mut headers = Vec::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').ok_or_else(invalid)?;
        let key = HeaderName::from_bytes(key.trim().to_ascii_lowercase().as_bytes()).map_err(|_| invalid())?;
        let decoded = percent_decode(raw.trim()).ok_or_else(invalid)?;
        // The error must not echo a secret value: it names the variable and the key only.
        let value = http_client::header_value(name, &decoded)
            .map_err(|_| ConfigError::new(name, key.as_str(), "header values of visible ASCII"))?;
        headers.push((key, value));
    }
    Ok(headers)
}

/// Sends batches to an OTLP receiver.
#[derive(Debug)]
pub(crate) struct OtlpExporter {
    name: String,
    resource: ProtoResource,
    transport: Transport,
    timeout: Duration,
}

#[derive(Debug)]
enum Transport {
    Grpc {
        grpc: Result<Grpc<Channel>, String>,
        metadata: MetadataMap,
    },
    /// `json`: the writer of `http/json` requests; protobuf without.
    Http {
        client: Result<HttpClient, String>,
        headers: HeaderMap,
        json: Option<RequestWriter>,
    },
}

impl OtlpExporter {
    pub(crate) fn new(config: OtlpConfig, resource: &Resource) -> Self {
        let protocol = match config.protocol {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        };
        let name = format!("otlp ({protocol} {})", config.endpoint);
        let transport = match config.protocol {
            Protocol::Grpc => {
                let target = GrpcTarget { uri: config.endpoint.clone(), ca: config.ca.clone() };
                let grpc = grpc::channel(&[target], config.timeout).map(|channel| {
                    let grpc = Grpc::new(channel);
                    if config.gzip {
                        grpc.send_compressed(CompressionEncoding::Gzip)
                    } else {
                        grpc
                    }
                });
                Transport::Grpc { grpc, metadata: MetadataMap::from_headers(config.headers.clone()) }
            }
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                let json = config.protocol == Protocol::HttpJson;
                let mut headers = config.headers.clone();
                let content_type = if json { "application/json" } else { "application/x-protobuf" };
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                if config.gzip {
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                // Checked at `init`, so this cannot fail; if it did, every send would say why.
                let client = HttpTarget::parse("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &config.endpoint)
                    .map(|target| HttpClient::new(target.with_ca(config.ca.clone())))
                    .map_err(|e| e.to_string());
                Transport::Http { client, headers, json: json.then(|| RequestWriter::new(resource)) }
            }
        };
        Self { name, resource: otlp_model::resource(resource), transport, timeout: config.timeout }
    }

    fn request(&self, batch: &Batch) -> ExportTraceServiceRequest {
        let mut spans = Vec::with_capacity(batch.spans as usize);
        for segment in &batch.segments {
            otlp_model::push_spans(segment, &batch.clock, &mut spans);
        }
        otlp_model::request(self.resource.clone(), spans)
    }
}

impl Exporter for OtlpExporter {
    type Load = Batch;
    /// The request, encoded (and for HTTP, compressed) once.
    type Payload = Bytes;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, batch: &Batch) -> Bytes {
        match &self.transport {
            Transport::Grpc { .. } => self.request(batch).encode_to_vec().into(),
            Transport::Http { json, headers, .. } => {
                let body = match json {
                    Some(requests) => {
                        let mut json = Vec::with_capacity(requests.size_hint(batch.spans));
                        requests.write(&mut json, batch.segments.iter().map(|s| &**s), &batch.clock);
                        json
                    }
                    None => self.request(batch).encode_to_vec(),
                };
                if headers.contains_key(header::CONTENT_ENCODING) {
                    gzip(&body, Compression::fast()).into()
                } else {
                    body.into()
                }
            }
        }
    }

    async fn send(&mut self, payload: &Bytes) -> Result<Sent, ExportError> {
        let response = match &mut self.transport {
            Transport::Grpc { grpc, metadata } => {
                let grpc = grpc.as_mut().map_err(|e| ExportError::Rejected(e.clone()))?;
                let request = grpc::request(payload.clone(), metadata, self.timeout);
                grpc::unary::<ExportTraceServiceResponse>(grpc, EXPORT_PATH, request)
                    .await
                    .map_err(|status| grpc::classify(&status))?
            }
            Transport::Http { client, headers, json } => {
                let client = client.as_mut().map_err(|e| ExportError::Rejected(e.clone()))?;
                let answer = client.post(headers, payload.clone()).await?;
                http_client::check_status(&answer)?;
                // JSON answers are not read: a partial success there is rare and only advisory.
                if json.is_some() {
                    ExportTraceServiceResponse::default()
                } else {
                    ExportTraceServiceResponse::decode(answer.body).unwrap_or_default()
                }
            }
        };
        let rejected = response.partial_success.map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0));
        Ok(Sent { rejected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&'static str, &str)]) -> Result<OtlpConfig, ConfigError> {
        let lookup = crate::config::lookup_in(vars);
        OtlpConfig::resolve(&lookup)
    }

    #[test]
    fn endpoints_follow_the_specification() {
        assert_eq!(resolve(&[]).unwrap().endpoint, "http://localhost:4317");
        let http = ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
        assert_eq!(resolve(&[http]).unwrap().endpoint, "http://localhost:4318/v1/traces");
        let generic = ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/");
        assert_eq!(resolve(&[http, generic]).unwrap().endpoint, "https://collector:4318/v1/traces");
        assert_eq!(resolve(&[generic]).unwrap().endpoint, "https://collector:4318/");
        let signal = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:9999/custom");
        assert_eq!(resolve(&[http, generic, signal]).unwrap().endpoint, "http://other:9999/custom");
        assert_eq!(
            resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]).unwrap().endpoint,
            "http://collector:4317"
        );
    }

    #[test]
    fn headers_compression_and_timeouts_parse() {
        let config = resolve(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, X-Tenant=one"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=two"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
        ])
        .unwrap();
        assert_eq!(config.headers["api-key"], "a b");
        assert_eq!(config.headers["x-tenant"], "two");
        assert!(config.gzip);
        assert_eq!(config.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn bad_values_name_their_variable_without_echoing_secrets() {
        for (name, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"),
        ] {
            assert_eq!(resolve(&[(name, value)]).unwrap_err().variable(), name);
        }
        let err = resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret%0Avalue")]).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
