//! A SkyWalking OAP stand-in: `TraceSegmentReportService`, `ManagementService`,
//! `MeterReportService` and `LogReportService` from the project's own SkyWalking protocol files,
//! recording what arrives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tonic::transport::{Identity, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use super::tls::SelfSigned;
use super::Server;

#[allow(clippy::all, missing_debug_implementations, rust_2018_idioms)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/skywalking.v3.rs"));
}

use proto::log_report_service_server::{LogReportService, LogReportServiceServer};
use proto::management_service_server::{ManagementService, ManagementServiceServer};
use proto::meter_report_service_server::{MeterReportService, MeterReportServiceServer};
use proto::trace_segment_report_service_server::{TraceSegmentReportService, TraceSegmentReportServiceServer};
use proto::{
    Commands, InstancePingPkg, InstanceProperties, LogData, MeterData, MeterDataCollection, SegmentCollection,
    SegmentObject,
};

/// Everything the collector received.
#[derive(Debug, Default)]
pub struct Received {
    pub segments: Vec<SegmentObject>,
    pub properties: Vec<InstanceProperties>,
    pub pings: Vec<InstancePingPkg>,
    /// The meter streams accepted, each as its messages.
    pub meter_streams: Vec<Vec<MeterData>>,
    /// The log streams accepted, each as its messages.
    pub log_streams: Vec<Vec<LogData>>,
    /// `collect` calls, accepted or refused.
    pub collect_calls: usize,
    /// The `authentication` metadata of the last call.
    pub token: Option<String>,
}

/// How the collector behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Calls without this `authentication` are refused with PERMISSION_DENIED, as the OAP does.
    pub token: Option<String>,
    pub tls: Option<(String, String)>,
}

#[derive(Debug, Clone)]
struct Oap {
    received: Arc<Mutex<Received>>,
    options: Options,
}

impl Oap {
    fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let token = request.metadata().get("authentication").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut received = self.received.lock().unwrap();
        received.token.clone_from(&token);
        match &self.options.token {
            Some(expected) if token.as_ref() != Some(expected) => Err(Status::permission_denied("invalid token")),
            _ => Ok(()),
        }
    }
}

/// Every message of a client stream, once the client completes it.
async fn all<T>(mut stream: Streaming<T>) -> Result<Vec<T>, Status> {
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await? {
        messages.push(message);
    }
    Ok(messages)
}

#[tonic::async_trait]
impl TraceSegmentReportService for Oap {
    async fn collect(&self, request: Request<Streaming<SegmentObject>>) -> Result<Response<Commands>, Status> {
        self.received.lock().unwrap().collect_calls += 1;
        self.check(&request)?;
        let mut stream = request.into_inner();
        while let Some(segment) = stream.message().await? {
            self.received.lock().unwrap().segments.push(segment);
        }
        Ok(Response::new(Commands::default()))
    }

    async fn collect_in_sync(&self, request: Request<SegmentCollection>) -> Result<Response<Commands>, Status> {
        self.check(&request)?;
        self.received.lock().unwrap().segments.extend(request.into_inner().segments);
        Ok(Response::new(Commands::default()))
    }
}

#[tonic::async_trait]
impl MeterReportService for Oap {
    async fn collect(&self, request: Request<Streaming<MeterData>>) -> Result<Response<Commands>, Status> {
        self.check(&request)?;
        let meters = all(request.into_inner()).await?;
        self.received.lock().unwrap().meter_streams.push(meters);
        Ok(Response::new(Commands::default()))
    }

    async fn collect_batch(
        &self,
        request: Request<Streaming<MeterDataCollection>>,
    ) -> Result<Response<Commands>, Status> {
        self.check(&request)?;
        let mut stream = request.into_inner();
        while let Some(collection) = stream.message().await? {
            self.received.lock().unwrap().meter_streams.push(collection.meter_data);
        }
        Ok(Response::new(Commands::default()))
    }
}

#[tonic::async_trait]
impl LogReportService for Oap {
    async fn collect(&self, request: Request<Streaming<LogData>>) -> Result<Response<Commands>, Status> {
        self.check(&request)?;
        let logs = all(request.into_inner()).await?;
        self.received.lock().unwrap().log_streams.push(logs);
        Ok(Response::new(Commands::default()))
    }
}

#[tonic::async_trait]
impl ManagementService for Oap {
    async fn report_instance_properties(
        &self,
        request: Request<InstanceProperties>,
    ) -> Result<Response<Commands>, Status> {
        self.check(&request)?;
        self.received.lock().unwrap().properties.push(request.into_inner());
        Ok(Response::new(Commands::default()))
    }

    async fn keep_alive(&self, request: Request<InstancePingPkg>) -> Result<Response<Commands>, Status> {
        self.check(&request)?;
        self.received.lock().unwrap().pings.push(request.into_inner());
        Ok(Response::new(Commands::default()))
    }
}

/// A running OAP stand-in.
#[derive(Debug)]
pub struct Collector {
    pub received: Arc<Mutex<Received>>,
    options: Options,
    server: Server,
}

impl Collector {
    pub fn start(options: Options) -> Collector {
        Self::start_at("127.0.0.1:0".parse().unwrap(), options)
    }

    pub fn start_at(addr: SocketAddr, options: Options) -> Collector {
        let received = Arc::new(Mutex::new(Received::default()));
        let server = serve(addr, Oap { received: Arc::clone(&received), options: options.clone() });
        Collector { received, options, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Stops answering: the listener and every connection close.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Starts again on the same address, keeping what was received.
    pub fn restart(&mut self) {
        let oap = Oap { received: Arc::clone(&self.received), options: self.options.clone() };
        self.server = serve(self.server.addr, oap);
    }

    pub fn spans(&self) -> usize {
        self.received.lock().unwrap().segments.iter().map(|s| s.spans.len()).sum()
    }

    /// The logs received, in the order they arrived.
    pub fn logs(&self) -> Vec<LogData> {
        self.received.lock().unwrap().log_streams.iter().flatten().cloned().collect()
    }
}

fn serve(addr: SocketAddr, oap: Oap) -> Server {
    Server::start(addr, move |listener| async move {
        let mut builder = tonic::transport::Server::builder();
        if let Some((cert, key)) = &oap.options.tls {
            builder =
                builder.tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key))).expect("server TLS");
        }
        let incoming = super::Incoming(listener);
        let _ = builder
            .add_service(TraceSegmentReportServiceServer::new(oap.clone()))
            .add_service(MeterReportServiceServer::new(oap.clone()))
            .add_service(LogReportServiceServer::new(oap.clone()))
            .add_service(ManagementServiceServer::new(oap))
            .serve_with_incoming(incoming)
            .await;
    })
}

/// A certificate for the collector's TLS.
pub fn tls(cert: &SelfSigned) -> Option<(String, String)> {
    Some((cert.cert_pem.clone(), cert.key_pem.clone()))
}
