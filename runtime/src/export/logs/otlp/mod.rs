//! The OTLP logs exporter (`OTEL_LOGS_EXPORTER=otlp`): one `ExportLogsServiceRequest` per batch
//! over gRPC (`opentelemetry.proto.collector.logs.v1.LogsService/Export`), HTTP/protobuf or
//! HTTP/JSON (`POST .../v1/logs`).
//!
//! Settings and transports are the OTLP exporters' shared ones
//! ([`transport::otlp`](crate::export::transport::otlp)), read from the
//! `OTEL_EXPORTER_OTLP_LOGS_*` variables before the generic ones. An export is bounded by
//! `OTEL_EXPORTER_OTLP_LOGS_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT`, and when neither is set by
//! `OTEL_BLRP_EXPORT_TIMEOUT` (30 s by default), the batch processor's bound on an export. A
//! partial success's `rejected_log_records` count as rejected records; failures are retried as
//! the trace exporter's are, by the lane.

pub(crate) mod json;
pub(crate) mod model;

use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use prost::Message;

use crate::config::env::Vars;
use crate::config::ConfigError;
use crate::export::logs::otlp::json::RequestWriter;
use crate::export::logs::LogBatch;
use crate::export::resource::Resource;
use crate::export::transport::otlp::{OtlpClient, OtlpSettings, OtlpSignal};
use crate::export::{ExportError, Exporter, Sent};

/// The variables that set an OTLP logs request's own timeout.
const TIMEOUTS: [&str; 2] = ["OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"];

/// The OTLP settings of logs: the shared ones, with `export_timeout` (`OTEL_BLRP_EXPORT_TIMEOUT`)
/// as the timeout unless an OTLP timeout variable is set.
pub(crate) fn resolve(vars: &Vars<'_>, export_timeout: Duration) -> Result<OtlpSettings, ConfigError> {
    let mut settings = OtlpSettings::resolve(vars, OtlpSignal::Logs)?;
    if vars.first(&TIMEOUTS)?.is_none() {
        settings.timeout = export_timeout;
    }
    Ok(settings)
}

/// Sends batches of log records to an OTLP receiver.
#[derive(Debug)]
pub(crate) struct OtlpLogExporter {
    client: OtlpClient,
    /// For protobuf.
    resource: ProtoResource,
    /// The writer of `http/json` requests; protobuf without.
    json: Option<RequestWriter>,
}

impl OtlpLogExporter {
    pub(crate) fn new(settings: &OtlpSettings, resource: &Resource) -> Self {
        let client = OtlpClient::new(settings);
        let json = client.json().then(|| RequestWriter::new(resource));
        Self { client, resource: crate::export::traces::otlp::model::resource(resource), json }
    }
}

impl Exporter for OtlpLogExporter {
    type Load = LogBatch;
    /// The request, encoded (and for HTTP, compressed) once.
    type Payload = Bytes;

    fn name(&self) -> &str {
        self.client.name()
    }

    fn timeout(&self) -> Duration {
        self.client.timeout()
    }

    fn encode(&mut self, batch: &LogBatch) -> Bytes {
        let request = match &self.json {
            Some(requests) => {
                let mut json = Vec::with_capacity(requests.size_hint(batch));
                requests.write(&mut json, batch);
                json
            }
            None => model::request(self.resource.clone(), batch).encode_to_vec(),
        };
        self.client.payload(request)
    }

    async fn send(&mut self, payload: &Bytes) -> Result<Sent, ExportError> {
        let response: ExportLogsServiceResponse = self.client.send(payload).await?;
        let rejected = response.partial_success.map_or(0, |p| u64::try_from(p.rejected_log_records).unwrap_or(0));
        Ok(Sent { rejected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_export_timeout_applies_unless_an_otlp_timeout_is_set() {
        let blrp = Duration::from_millis(1234);
        let timeout = |pairs: &[(&'static str, &str)]| resolve(&Vars::of(pairs), blrp).unwrap().timeout;
        assert_eq!(timeout(&[]), blrp);
        assert_eq!(timeout(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "500")]), Duration::from_millis(500));
        let both = [("OTEL_EXPORTER_OTLP_TIMEOUT", "500"), ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "700")];
        assert_eq!(timeout(&both), Duration::from_millis(700));
        // The traces' timeout is not the logs'.
        assert_eq!(timeout(&[("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "500")]), blrp);
        let settings = resolve(&Vars::of(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]), blrp).unwrap();
        assert_eq!(settings.endpoint, "http://localhost:4318/v1/logs");
        let err = resolve(&Vars::of(&[("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "soon")]), blrp).unwrap_err();
        assert_eq!(err.variable(), "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT");
    }
}
