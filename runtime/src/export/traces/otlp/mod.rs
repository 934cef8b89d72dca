//! The OTLP exporter: `ExportTraceServiceRequest`s over gRPC
//! (`opentelemetry.proto.collector.trace.v1.TraceService/Export`), HTTP/protobuf or HTTP/JSON
//! (`POST .../v1/traces`), configured by the standard `OTEL_EXPORTER_OTLP_*` variables.
//!
//! Settings and transports are the OTLP exporters' shared ones ([`transport::otlp`](crate::export::transport::otlp)),
//! read from the `OTEL_EXPORTER_OTLP_TRACES_*` variables before the generic ones.

pub(crate) mod json;
pub(crate) mod model;

use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use prost::Message;

use crate::export::resource::Resource;
use crate::export::traces::otlp::json::RequestWriter;
use crate::export::transport::otlp::{OtlpClient, OtlpSettings};
use crate::export::{Batch, ExportError, Exporter, Sent};

/// Sends batches to an OTLP receiver.
#[derive(Debug)]
pub(crate) struct OtlpExporter {
    client: OtlpClient,
    resource: ProtoResource,
    /// The writer of `http/json` requests; protobuf without.
    json: Option<RequestWriter>,
}

impl OtlpExporter {
    pub(crate) fn new(settings: OtlpSettings, resource: &Resource) -> Self {
        let client = OtlpClient::new(&settings);
        let json = client.json().then(|| RequestWriter::new(resource));
        Self { client, resource: model::resource(resource), json }
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
        self.client.name()
    }

    fn timeout(&self) -> Duration {
        self.client.timeout()
    }

    fn encode(&mut self, batch: &Batch) -> Bytes {
        let request = match &self.json {
            Some(requests) => {
                let mut json = Vec::with_capacity(requests.size_hint(batch.spans));
                requests.write(&mut json, batch.segments.iter().map(|s| &**s), &batch.clock);
                json
            }
            None => self.request(batch).encode_to_vec(),
        };
        self.client.payload(request)
    }

    async fn send(&mut self, payload: &Bytes) -> Result<Sent, ExportError> {
        let response: ExportTraceServiceResponse = self.client.send(payload).await?;
        let rejected = response.partial_success.map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0));
        Ok(Sent { rejected })
    }
}
