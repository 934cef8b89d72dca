//! Backends that misbehave on purpose, for the tests of what reaches standard error: every
//! answer fails, and its text echoes the credentials the request carried, breaks the line to
//! forge a `spanscope:` line of its own, and drives the terminal with escape sequences.

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming as Body;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status, Streaming};

use crate::collector::skywalking::proto::management_service_server::{ManagementService, ManagementServiceServer};
use crate::collector::skywalking::proto::trace_segment_report_service_server::{
    TraceSegmentReportService, TraceSegmentReportServiceServer,
};
use crate::collector::skywalking::proto::{
    Commands, InstancePingPkg, InstanceProperties, SegmentCollection, SegmentObject,
};
use crate::collector::{serve_http, Incoming, Server};

/// What every hostile answer carries besides the echo: a colour, a line break, a forged line, and
/// an escape sequence setting the terminal's title.
pub const FORGERY: &str = "\u{1b}[31mred\u{1b}[0m\r\nspanscope: forged line\u{1b}]0;owned\u{7}";

/// An HTTP server (OTLP/HTTP, Pyroscope, any path) answering every request with `status` and a
/// body of [`FORGERY`] and the request's headers, `authorization` first, as a proxy's or a
/// debugging backend's error page does.
pub fn echoing_http(status: StatusCode) -> Server {
    Server::start("127.0.0.1:0".parse().unwrap(), move |listener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_http(stream, None, move |request| echo_headers(request, status)));
        }
    })
}

async fn echo_headers(request: Request<Body>, status: StatusCode) -> Result<Response<Full<Bytes>>, Infallible> {
    let headers = request.headers();
    let mut body = format!("refused {FORGERY}\n");
    let first = headers.get_all(header::AUTHORIZATION).iter().map(|value| (&header::AUTHORIZATION, value));
    let rest = headers.iter().filter(|(name, _)| **name != header::AUTHORIZATION);
    for (name, value) in first.chain(rest) {
        body.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
    }
    Ok(Response::builder().status(status).body(Full::new(body.into())).unwrap())
}

/// The status a hostile gRPC service answers with: `code`, and a message echoing each of the
/// request's `metadata` values (and, after an authorization scheme, the token alone), then
/// [`FORGERY`] and `padding` bytes of filler.
fn echoing_status(code: Code, metadata: &MetadataMap, names: &[&str], padding: usize) -> Status {
    let mut message = String::from("refused");
    for name in names {
        let value = metadata.get(*name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let token = value.split_once(' ').map_or(value, |(_, token)| token);
        message.push_str(&format!(" {name}={value} token={token}"));
    }
    message.push_str(FORGERY);
    message.push_str(&".".repeat(padding));
    message.push_str(" end of message");
    Status::new(code, message)
}

/// An OTLP gRPC receiver answering every export with `code`, echoing the `authorization`
/// metadata, with `padding` bytes of filler in the message.
pub fn refusing_otlp_grpc(code: Code, padding: usize) -> Server {
    Server::start("127.0.0.1:0".parse().unwrap(), move |listener| async move {
        let _ = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(RefusingTraces { code, padding }))
            .serve_with_incoming(Incoming(listener))
            .await;
    })
}

#[derive(Debug)]
struct RefusingTraces {
    code: Code,
    padding: usize,
}

#[tonic::async_trait]
impl TraceService for RefusingTraces {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
        Err(echoing_status(self.code, request.metadata(), &["authorization", "x-api-key"], self.padding))
    }
}

/// A SkyWalking OAP that accepts segments but fails every `reportInstanceProperties` and
/// `keepAlive` with `code`, echoing the `authentication` metadata.
pub fn refusing_skywalking_management(code: Code) -> Server {
    Server::start("127.0.0.1:0".parse().unwrap(), move |listener| async move {
        let oap = RefusingManagement { code };
        let _ = tonic::transport::Server::builder()
            .add_service(TraceSegmentReportServiceServer::new(oap.clone()))
            .add_service(ManagementServiceServer::new(oap))
            .serve_with_incoming(Incoming(listener))
            .await;
    })
}

#[derive(Debug, Clone)]
struct RefusingManagement {
    code: Code,
}

#[tonic::async_trait]
impl TraceSegmentReportService for RefusingManagement {
    async fn collect(
        &self,
        request: tonic::Request<Streaming<SegmentObject>>,
    ) -> Result<tonic::Response<Commands>, Status> {
        let mut segments = request.into_inner();
        while segments.message().await?.is_some() {}
        Ok(tonic::Response::new(Commands::default()))
    }

    async fn collect_in_sync(&self, _: tonic::Request<SegmentCollection>) -> Result<tonic::Response<Commands>, Status> {
        Ok(tonic::Response::new(Commands::default()))
    }
}

#[tonic::async_trait]
impl ManagementService for RefusingManagement {
    async fn report_instance_properties(
        &self,
        request: tonic::Request<InstanceProperties>,
    ) -> Result<tonic::Response<Commands>, Status> {
        Err(echoing_status(self.code, request.metadata(), &["authentication"], 0))
    }

    async fn keep_alive(&self, request: tonic::Request<InstancePingPkg>) -> Result<tonic::Response<Commands>, Status> {
        Err(echoing_status(self.code, request.metadata(), &["authentication"], 0))
    }
}
