//! What the OTLP exporters of every signal share: their settings, read per signal from the
//! standard `OTEL_EXPORTER_OTLP_*` variables, and the client that carries their requests over
//! gRPC, HTTP/protobuf or HTTP/JSON.
//!
//! Endpoint rules (OTLP exporter specification): a per-signal endpoint
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._METRICS_ENDPOINT`) is used as given; the generic
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is used as given for gRPC and gets the signal's path
//! (`/v1/traces`, `/v1/metrics`) appended for HTTP; the defaults are `http://localhost:4317`
//! (gRPC, the default protocol here) and `http://localhost:4318/v1/<signal>`. Every per-signal
//! variable wins over its generic one. A scheme-less gRPC endpoint (`collector:4317`) means
//! plain `http://`.
//!
//! `OTEL_EXPORTER_OTLP_TIMEOUT` is OpenTelemetry's timeout: milliseconds up to 2³¹ − 1, 0 meaning
//! no limit (that longest timeout). `OTEL_EXPORTER_OTLP_HEADERS` values must be printable ASCII,
//! as headers and gRPC metadata must: any other is refused at start-up, never left out.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use prost::Message;
use tonic::client::Grpc;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use crate::config::env::{is_header_text, parse_choice, parse_pairs, parse_timeout, PairText, SetVar, Vars};
use crate::config::ConfigError;
use crate::encoding::gzip::{gzip, Compression};
use crate::export::transport::grpc::{self, GrpcTarget};
use crate::export::transport::http_client::{self, HttpClient, HttpTarget};
use crate::export::ExportError;

/// How requests travel (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// The signal an OTLP exporter sends: which variables it reads and where its requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtlpSignal {
    Traces,
    Metrics,
    Logs,
}

/// A signal's variables, each before its generic one, and its paths.
struct SignalNames {
    endpoint: &'static str,
    protocol: [&'static str; 2],
    /// Generic first: the signal's own headers override the generic ones key by key.
    headers: [&'static str; 2],
    compression: [&'static str; 2],
    timeout: [&'static str; 2],
    certificate: [&'static str; 2],
    /// Appended to the generic endpoint for HTTP.
    http_path: &'static str,
    /// The gRPC method.
    grpc_path: &'static str,
}

const TRACES: SignalNames = SignalNames {
    endpoint: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    protocol: ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"],
    headers: ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"],
    compression: ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"],
    timeout: ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"],
    certificate: ["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"],
    http_path: "/v1/traces",
    grpc_path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
};

const METRICS: SignalNames = SignalNames {
    endpoint: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    protocol: ["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"],
    headers: ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS"],
    compression: ["OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"],
    timeout: ["OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"],
    certificate: ["OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"],
    http_path: "/v1/metrics",
    grpc_path: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
};

const LOGS: SignalNames = SignalNames {
    endpoint: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    protocol: ["OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"],
    headers: ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_LOGS_HEADERS"],
    compression: ["OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"],
    timeout: ["OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"],
    certificate: ["OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"],
    http_path: "/v1/logs",
    grpc_path: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

impl OtlpSignal {
    fn names(self) -> &'static SignalNames {
        match self {
            Self::Traces => &TRACES,
            Self::Metrics => &METRICS,
            Self::Logs => &LOGS,
        }
    }
}

/// An OTLP exporter's settings, for one signal.
#[derive(Debug, Clone)]
pub(crate) struct OtlpSettings {
    pub signal: OtlpSignal,
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
    pub(crate) fn resolve(vars: &Vars<'_>, signal: OtlpSignal) -> Result<Self, ConfigError> {
        let names = signal.names();
        let protocols =
            [("grpc", Protocol::Grpc), ("http/protobuf", Protocol::HttpProtobuf), ("http/json", Protocol::HttpJson)];
        let protocol = vars.read_first(&names.protocol, |var| parse_choice(var, &protocols))?.unwrap_or(Protocol::Grpc);
        let grpc = protocol == Protocol::Grpc;
        let endpoint = match (vars.get(names.endpoint)?, vars.get("OTEL_EXPORTER_OTLP_ENDPOINT")?) {
            (Some((name, value)), _) => check_url(name, value.trim(), grpc)?,
            (None, Some((name, value))) if grpc => check_url(name, value.trim(), grpc)?,
            (None, Some((name, value))) => {
                format!("{}{}", check_url(name, value.trim(), grpc)?.trim_end_matches('/'), names.http_path)
            }
            (None, None) if grpc => "http://localhost:4317".to_owned(),
            (None, None) => format!("http://localhost:4318{}", names.http_path),
        };
        let mut headers = HeaderMap::new();
        for name in names.headers {
            for (key, value) in vars.read(name, parse_headers)?.unwrap_or_default() {
                headers.insert(key, value);
            }
        }
        let gzip = vars
            .read_first(&names.compression, |var| parse_choice(var, &[("gzip", true), ("none", false)]))?
            .unwrap_or(false);
        // OpenTelemetry's timeout: 0 is no limit.
        let timeout = vars.read_first(&names.timeout, parse_timeout)?.unwrap_or(Duration::from_secs(10));
        let ca = vars.read_first(&names.certificate, crate::export::transport::tls::read_ca)?;
        Ok(Self { signal, protocol, endpoint, headers, gzip, timeout, ca })
    }

    /// The credentials the requests carry, which no line on standard error may show.
    pub(crate) fn credentials(&self) -> Vec<&str> {
        self.headers.values().filter_map(|value| value.to_str().ok()).collect()
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

/// Carries one signal's encoded requests to an OTLP receiver and reads its answers.
#[derive(Debug)]
pub(crate) struct OtlpClient {
    name: String,
    grpc_path: &'static str,
    transport: Transport,
    timeout: Duration,
}

#[derive(Debug)]
enum Transport {
    Grpc { grpc: Result<Grpc<Channel>, String>, metadata: MetadataMap },
    Http { client: Result<HttpClient, String>, headers: HeaderMap, json: bool },
}

impl OtlpClient {
    /// A client for `settings`, named `otlp (<protocol> <endpoint>)` in messages (and in
    /// `stats()`, beside its signal).
    pub(crate) fn new(settings: &OtlpSettings) -> Self {
        let protocol = match settings.protocol {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        };
        let name = format!("otlp ({protocol} {})", settings.endpoint);
        let transport = match settings.protocol {
            Protocol::Grpc => {
                let target = GrpcTarget { uri: settings.endpoint.clone(), ca: settings.ca.clone() };
                let grpc = grpc::channel(&[target], settings.timeout).map(|channel| {
                    let grpc = Grpc::new(channel);
                    if settings.gzip {
                        grpc.send_compressed(CompressionEncoding::Gzip)
                    } else {
                        grpc
                    }
                });
                Transport::Grpc { grpc, metadata: MetadataMap::from_headers(settings.headers.clone()) }
            }
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                let json = settings.protocol == Protocol::HttpJson;
                let mut headers = settings.headers.clone();
                let content_type = if json { "application/json" } else { "application/x-protobuf" };
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                if settings.gzip {
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                // Checked at `init`, so this cannot fail; if it did, every send would say why.
                let client = HttpTarget::parse(settings.signal.names().endpoint, &settings.endpoint)
                    .map(|target| HttpClient::new(target.with_ca(settings.ca.clone())))
                    .map_err(|e| e.to_string());
                Transport::Http { client, headers, json }
            }
        };
        Self { name, grpc_path: settings.signal.names().grpc_path, transport, timeout: settings.timeout }
    }

    /// The exporter and its destination, for messages.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether requests travel as OTLP/JSON rather than protobuf.
    pub(crate) fn json(&self) -> bool {
        matches!(self.transport, Transport::Http { json: true, .. })
    }

    /// An encoded request as it goes on the wire: gzipped here for HTTP when asked (gRPC
    /// compresses its own frames).
    pub(crate) fn payload(&self, request: Vec<u8>) -> Bytes {
        match &self.transport {
            Transport::Http { headers, .. } if headers.contains_key(header::CONTENT_ENCODING) => {
                gzip(&request, Compression::fast()).into()
            }
            Transport::Grpc { .. } | Transport::Http { .. } => request.into(),
        }
    }

    /// Sends a payload and decodes the receiver's answer (an empty answer for JSON, whose
    /// answers are not read: a partial success there is rare and only advisory).
    pub(crate) async fn send<R: Message + Default + Send + 'static>(
        &mut self,
        payload: &Bytes,
    ) -> Result<R, ExportError> {
        match &mut self.transport {
            Transport::Grpc { grpc, metadata } => {
                let grpc = grpc.as_mut().map_err(|e| ExportError::Rejected(e.clone()))?;
                let request = grpc::request(payload.clone(), metadata, self.timeout);
                grpc::unary::<R>(grpc, self.grpc_path, request).await.map_err(|status| grpc::classify(&status))
            }
            Transport::Http { client, headers, json } => {
                let client = client.as_mut().map_err(|e| ExportError::Rejected(e.clone()))?;
                let answer = client.post(headers, payload.clone()).await?;
                http_client::check_status(&answer)?;
                Ok(if *json { R::default() } else { R::decode(answer.body).unwrap_or_default() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&'static str, &str)]) -> Result<OtlpSettings, ConfigError> {
        OtlpSettings::resolve(&Vars::of(vars), OtlpSignal::Traces)
    }

    fn resolve_metrics(vars: &[(&'static str, &str)]) -> Result<OtlpSettings, ConfigError> {
        OtlpSettings::resolve(&Vars::of(vars), OtlpSignal::Metrics)
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
    fn metrics_read_their_own_variables_before_the_generic_ones() {
        assert_eq!(resolve_metrics(&[]).unwrap().endpoint, "http://localhost:4317");
        let http = ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
        assert_eq!(resolve_metrics(&[http]).unwrap().endpoint, "http://localhost:4318/v1/metrics");
        let generic = ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318");
        assert_eq!(resolve_metrics(&[http, generic]).unwrap().endpoint, "https://collector:4318/v1/metrics");
        let signal = ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://other:9999/custom");
        assert_eq!(resolve_metrics(&[http, generic, signal]).unwrap().endpoint, "http://other:9999/custom");
        // The traces' variables are not the metrics', nor the other way round.
        let traces = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:1");
        assert_eq!(resolve_metrics(&[traces]).unwrap().endpoint, "http://localhost:4317");
        assert_eq!(resolve(&[signal]).unwrap().endpoint, "http://localhost:4317");
        let config = resolve_metrics(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=one,x-key=k"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-tenant=two"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "3000"),
        ])
        .unwrap();
        assert_eq!(config.protocol, Protocol::HttpJson);
        assert_eq!(
            (config.headers["x-tenant"].to_str().unwrap(), config.headers["x-key"].to_str().unwrap()),
            ("two", "k")
        );
        assert!(config.gzip);
        assert_eq!(config.timeout, Duration::from_secs(3));
        for name in [
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
        ] {
            assert_eq!(resolve_metrics(&[(name, "ftp://x")]).unwrap_err().variable(), name);
        }
        let err = resolve_metrics(&[("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "novalue")]).unwrap_err();
        assert_eq!(err.variable(), "OTEL_EXPORTER_OTLP_METRICS_HEADERS");
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
