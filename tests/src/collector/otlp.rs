//! OTLP receivers: gRPC (`TraceService`, `MetricsService` and `LogsService` from
//! opentelemetry-proto's generated servers) and HTTP (`POST /v1/traces`, `/v1/metrics` and
//! `/v1/logs`, protobuf or JSON, gzip or not), recording what arrives. Metrics and logs requests
//! are decoded with opentelemetry-proto's own types, JSON ones with its serde support, so the
//! exporters' two encodings are checked alike.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as Body;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tonic::codec::CompressionEncoding;

use super::tls::{Acceptor, SelfSigned};
use super::{serve_http, Server};

/// Everything the receiver got.
#[derive(Debug, Default)]
pub struct Received {
    pub requests: Vec<ExportTraceServiceRequest>,
    /// Bodies of `http/json` trace requests.
    pub json: Vec<serde_json::Value>,
    /// Headers (gRPC metadata) of the last request.
    pub headers: HeaderMap,
    /// Requests answered, whatever the answer.
    pub calls: usize,
    /// Metrics requests, protobuf or JSON, in arrival order.
    pub metrics: Vec<ExportMetricsServiceRequest>,
    /// How many of `metrics` came as OTLP/JSON.
    pub metrics_json: usize,
    /// The path of each HTTP request.
    pub paths: Vec<String>,
    /// Data points each metrics answer says were rejected (a partial success when not 0).
    pub reject_points: i64,
    /// Logs requests, protobuf or JSON, in arrival order.
    pub logs: Vec<ExportLogsServiceRequest>,
    /// How many of `logs` came as OTLP/JSON.
    pub logs_json: usize,
    /// Headers (gRPC metadata) of the last logs request.
    pub logs_headers: HeaderMap,
    /// Log records each logs answer says were rejected (a partial success when not 0).
    pub reject_log_records: i64,
}

impl Received {
    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.requests.iter().flat_map(|r| &r.resource_spans).flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans)
    }

    /// Every log record received, with the name of its scope.
    pub fn log_records(&self) -> impl Iterator<Item = (&str, &LogRecord)> {
        let scopes = self.logs.iter().flat_map(|r| &r.resource_logs).flat_map(|r| &r.scope_logs);
        scopes.flat_map(|s| {
            let name = s.scope.as_ref().map_or("", |scope| scope.name.as_str());
            s.log_records.iter().map(move |record| (name, record))
        })
    }
}

/// A running receiver.
#[derive(Debug)]
pub struct Collector {
    pub received: Arc<Mutex<Received>>,
    http: bool,
    /// For HTTP: the status every request is answered with (200 by default).
    status: StatusCode,
    /// For HTTP: serve over TLS with this certificate.
    tls: Option<Acceptor>,
    server: Server,
}

impl Collector {
    /// A gRPC receiver (accepting gzip).
    pub fn grpc() -> Collector {
        Self::start("127.0.0.1:0".parse().unwrap(), false, StatusCode::OK)
    }

    /// An HTTP receiver answering every request with `status`.
    pub fn http(status: StatusCode) -> Collector {
        Self::start("127.0.0.1:0".parse().unwrap(), true, status)
    }

    /// An HTTPS receiver with `cert`.
    pub fn https(cert: &SelfSigned) -> Collector {
        let tls = Some(Acceptor::new(cert));
        let received = Arc::new(Mutex::new(Received::default()));
        let server = serve("127.0.0.1:0".parse().unwrap(), true, StatusCode::OK, tls.clone(), Arc::clone(&received));
        Collector { received, http: true, status: StatusCode::OK, tls, server }
    }

    /// A gRPC receiver on `addr`.
    pub fn grpc_at(addr: SocketAddr) -> Collector {
        Self::start(addr, false, StatusCode::OK)
    }

    fn start(addr: SocketAddr, http: bool, status: StatusCode) -> Collector {
        let received = Arc::new(Mutex::new(Received::default()));
        let server = serve(addr, http, status, None, Arc::clone(&received));
        Collector { received, http, status, tls: None, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Starts again on the same address, keeping what was received.
    pub fn restart(&mut self) {
        self.server = serve(self.server.addr, self.http, self.status, self.tls.clone(), Arc::clone(&self.received));
    }

    pub fn span_count(&self) -> usize {
        self.received.lock().unwrap().spans().count()
    }
}

fn serve(
    addr: SocketAddr,
    http: bool,
    status: StatusCode,
    tls: Option<Acceptor>,
    received: Arc<Mutex<Received>>,
) -> Server {
    if http {
        Server::start(addr, move |listener| async move {
            while let Ok((stream, _)) = listener.accept().await {
                let received = Arc::clone(&received);
                let tls = tls.clone();
                tokio::spawn(serve_http(stream, tls, move |request| handle(request, status, Arc::clone(&received))));
            }
        })
    } else {
        Server::start(addr, move |listener| async move {
            let traces = TraceServiceServer::new(Grpc { received: Arc::clone(&received) })
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(64 << 20);
            let metrics = MetricsServiceServer::new(Grpc { received: Arc::clone(&received) })
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(64 << 20);
            let logs = LogsServiceServer::new(Grpc { received })
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(64 << 20);
            let _ = tonic::transport::Server::builder()
                .add_service(traces)
                .add_service(metrics)
                .add_service(logs)
                .serve_with_incoming(super::Incoming(listener))
                .await;
        })
    }
}

#[derive(Debug)]
struct Grpc {
    received: Arc<Mutex<Received>>,
}

impl Grpc {
    /// Counts a call and keeps its metadata; returns what was received, locked, and the request.
    fn receive<T>(&self, request: tonic::Request<T>) -> (MutexGuard<'_, Received>, T) {
        let mut received = self.received.lock().unwrap();
        received.calls += 1;
        received.headers = request.metadata().clone().into_headers();
        (received, request.into_inner())
    }
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let (mut received, request) = self.receive(request);
        received.requests.push(request);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let (mut received, request) = self.receive(request);
        received.metrics.push(request);
        Ok(tonic::Response::new(metrics_answer(received.reject_points)))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let (mut received, request) = self.receive(request);
        received.logs_headers = received.headers.clone();
        received.logs.push(request);
        Ok(tonic::Response::new(logs_answer(received.reject_log_records)))
    }
}

/// The answer to a logs request: a partial success when `rejected` is not 0.
fn logs_answer(rejected: i64) -> ExportLogsServiceResponse {
    ExportLogsServiceResponse {
        partial_success: (rejected != 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message: "some records refused".to_owned(),
        }),
    }
}

/// The answer to a metrics request: a partial success when `rejected` is not 0.
fn metrics_answer(rejected: i64) -> ExportMetricsServiceResponse {
    ExportMetricsServiceResponse {
        partial_success: (rejected != 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message: "some points refused".to_owned(),
        }),
    }
}

async fn handle(
    request: Request<Body>,
    status: StatusCode,
    received: Arc<Mutex<Received>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut received = received.lock().unwrap();
    received.calls += 1;
    received.headers = parts.headers.clone();
    received.paths.push(parts.uri.path().to_owned());
    let gzip = parts.headers.get("content-encoding").is_some_and(|v| v == "gzip");
    let body = if gzip {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain).expect("gzip body");
        Bytes::from(plain)
    } else {
        body
    };
    let json = parts.headers.get("content-type").is_some_and(|v| v == "application/json");
    // The traces' path, or the metrics' or logs' (`/v1/metrics`, `/v1/logs`, or a per-signal
    // endpoint's own path ending like them).
    let answer = match parts.uri.path() {
        _ if status != StatusCode::OK => Vec::new(),
        "/v1/traces" => {
            if json {
                received.json.push(serde_json::from_slice(&body).expect("OTLP/JSON body"));
            } else {
                received.requests.push(ExportTraceServiceRequest::decode(body).expect("protobuf body"));
            }
            ExportTraceServiceResponse::default().encode_to_vec()
        }
        path if path.ends_with("metrics") => {
            received.metrics_json += usize::from(json);
            received.metrics.push(decode(body, json, |body| serde_json::from_slice(body)));
            metrics_answer(received.reject_points).encode_to_vec()
        }
        path if path.ends_with("logs") => {
            received.logs_json += usize::from(json);
            received.logs.push(decode(body, json, |body| serde_json::from_slice(body)));
            received.logs_headers = parts.headers.clone();
            logs_answer(received.reject_log_records).encode_to_vec()
        }
        _ => Vec::new(),
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/x-protobuf")
        .body(Full::new(answer.into()))
        .unwrap())
}

/// A request's body: OTLP/JSON, read by `from_json` (opentelemetry-proto's serde), or protobuf.
fn decode<T: Message + Default>(body: Bytes, json: bool, from_json: fn(&[u8]) -> serde_json::Result<T>) -> T {
    if json {
        from_json(&body).expect("OTLP/JSON body")
    } else {
        T::decode(body).expect("protobuf body")
    }
}
