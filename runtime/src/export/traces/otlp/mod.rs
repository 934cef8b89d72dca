//! The OTLP exporter: `ExportTraceServiceRequest`s over gRPC
//! (`opentelemetry.proto.collector.trace.v1.TraceService/Export`), HTTP/protobuf or HTTP/JSON
//! (`POST .../v1/traces`), configured by the standard `OTEL_EXPORTER_OTLP_*` variables.
//!
//! Endpoint rules (OTLP exporter specification): a per-signal `..._TRACES_ENDPOINT` is used as
//! given; the generic `OTEL_EXPORTER_OTLP_ENDPOINT` is used as given for gRPC and gets
//! `/v1/traces` appended for HTTP; the defaults are `http://localhost:4317` (gRPC, the default
//! protocol here) and `http://localhost:4318/v1/traces`. `..._TRACES_*` variables win over the
//! generic ones. A scheme-less gRPC endpoint (`collector:4317`) means plain `http://`.
//!
//! `OTEL_EXPORTER_OTLP_TIMEOUT` is OpenTelemetry's timeout: milliseconds up to 2³¹ − 1, 0 meaning
//! no limit (that longest timeout). `OTEL_EXPORTER_OTLP_HEADERS` values must be printable ASCII,
//! as headers and gRPC metadata must: any other is refused at start-up, never left out.

pub(crate) mod json;
pub(crate) mod model;

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

use crate::config::env::{is_header_text, parse_choice, parse_pairs, parse_timeout, PairText, SetVar, Vars};
use crate::config::ConfigError;
use crate::encoding::gzip::{gzip, Compression};
use crate::export::resource::Resource;
use crate::export::traces::otlp::json::RequestWriter;
use crate::export::transport::grpc::{self, GrpcTarget};
use crate::export::transport::http_client::{self, HttpClient, HttpTarget};
use crate::export::{Batch, ExportError, Exporter, Sent};

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
pub(crate) struct OtlpSettings {
    pub protocol: Protocol,
    /// The full URL requests go to (for gRPC, the server's; the method path is implied).
    pub endpoint: String,
    pub headers: HeaderMap,
    pub gzip: bool,
    pub timeout: Duration,
    /// Extra trusted CA certificates, PEM (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub ca: Option<Vec<u8>>,
}

impl OtlpSettings {
    pub(crate) fn resolve(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let protocols =
            [("grpc", Protocol::Grpc), ("http/protobuf", Protocol::HttpProtobuf), ("http/json", Protocol::HttpJson)];
        let protocol = vars
            .read_first(&["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"], |var| {
                parse_choice(var, &protocols)
            })?
            .unwrap_or(Protocol::Grpc);
        let grpc = protocol == Protocol::Grpc;
        let endpoint = match (vars.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")?, vars.get("OTEL_EXPORTER_OTLP_ENDPOINT")?)
        {
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
            for (key, value) in vars.read(name, parse_headers)?.unwrap_or_default() {
                headers.insert(key, value);
            }
        }
        let gzip = vars
            .read_first(&["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"], |var| {
                parse_choice(var, &[("gzip", true), ("none", false)])
            })?
            .unwrap_or(false);
        // OpenTelemetry's timeout: 0 is no limit.
        let timeout = vars
            .read_first(&["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"], parse_timeout)?
            .unwrap_or(Duration::from_secs(10));
        let ca = vars.read_first(
            &["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"],
            crate::export::transport::tls::read_ca,
        )?;
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

/// `key1=value1,key2=value2`, percent-encoded, each a header that can be sent: a value with a
/// control character or outside ASCII is refused, never silently left out.
fn parse_headers(var: &SetVar) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let name = var.0;
    // Header values are often API keys: errors never echo them.
    let invalid = || ConfigError::secret(name, "comma-separated key=value pairs, percent-encoded, keys header names");
    let pairs = parse_pairs(var, PairText::PercentEncoded).map_err(|_| invalid())?;
    pairs
        .into_iter()
        .map(|(key, value)| {
            let key = HeaderName::from_bytes(key.to_ascii_lowercase().as_bytes()).map_err(|_| invalid())?;
            // The error names the key, never the value.
            let invalid_value = || ConfigError::new(name, key.as_str(), "header values of visible ASCII");
            if !is_header_text(&value) {
                return Err(invalid_value());
            }
            let value = HeaderValue::from_str(&value).map_err(|_| invalid_value())?;
            Ok((key, value))
        })
        .collect()
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
    pub(crate) fn new(config: OtlpSettings, resource: &Resource) -> Self {
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
        Self { name, resource: model::resource(resource), transport, timeout: config.timeout }
    }

    fn request(&self, batch: &Batch) -> ExportTraceServiceRequest {
        let mut spans = Vec::with_capacity(batch.spans as usize);
        for segment in &batch.segments {
            model::push_spans(segment, &batch.clock, &mut spans);
        }
        model::request(self.resource.clone(), spans)
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

    fn resolve(vars: &[(&'static str, &str)]) -> Result<OtlpSettings, ConfigError> {
        OtlpSettings::resolve(&Vars::of(vars))
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

    #[test]
    fn timeouts_are_bounded_and_zero_is_no_limit() {
        // tonic panics on a deadline past 8 digits of hours: refused where it is read.
        for (name, value) in [
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "400000000000000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2147483648"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "-1"),
        ] {
            let err = resolve(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable(), name, "{err}");
        }
        // OpenTelemetry's timeout of 0: no limit, not "every request fails at once".
        let config = resolve(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]).unwrap();
        assert_eq!(config.timeout, crate::config::env::NO_LIMIT);
        let request = grpc::request((), &MetadataMap::new(), config.timeout);
        assert_eq!(request.metadata().get("grpc-timeout").unwrap(), "2147483S", "a deadline tonic can send");
        let config =
            resolve(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "1"), ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2147483647")]);
        assert_eq!(config.unwrap().timeout, Duration::from_millis(2_147_483_647));
    }

    #[test]
    fn headers_that_cannot_be_sent_are_refused_without_echoing_them() {
        for headers in ["x-key=s3cr3t%C3%A9", "x-key=s3cr3t%09tab", "x-key=s3cr3t%7F", "x key=s3cr3t", "x-key:s3cr3t"] {
            let err = resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", headers)]).unwrap_err();
            assert_eq!(err.variable(), "OTEL_EXPORTER_OTLP_HEADERS", "{headers}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
        let config = resolve(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", ",x-key = a%3Db ,"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON"),
        ]);
        let config = config.unwrap();
        assert_eq!((config.headers["x-key"].to_str().unwrap(), config.protocol), ("a=b", Protocol::HttpJson));
    }
}
