//! The OTLP metrics exporter (`OTEL_METRICS_EXPORTER=otlp`): one `ExportMetricsServiceRequest`
//! per collection over gRPC (`opentelemetry.proto.collector.metrics.v1.MetricsService/Export`),
//! HTTP/protobuf or HTTP/JSON (`POST .../v1/metrics`).
//!
//! Settings and transports are the OTLP exporters' shared ones
//! ([`transport::otlp`](crate::export::transport::otlp)), read from the
//! `OTEL_EXPORTER_OTLP_METRICS_*` variables before the generic ones, plus
//! `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (`cumulative`, the default, `delta` or
//! `lowmemory`, in any case), which the exporter's [`Temporalizer`] applies to each collection
//! as it encodes it. A collection in which nothing is left to send (deltas that did not change)
//! sends no request. A partial success's `rejected_data_points` count as rejected
//! points; failures are retried as the trace exporter's are, by the lane.

pub(crate) mod model;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use prost::Message;

use crate::config::env::{parse_choice, Vars};
use crate::config::ConfigError;
use crate::export::metrics::json;
use crate::export::metrics::temporality::{Preference, Temporalizer};
use crate::export::resource::Resource;
use crate::export::transport::otlp::{OtlpClient, OtlpSettings, OtlpSignal};
use crate::export::{ExportError, Exporter, Sent};
use crate::metrics::snapshot::Snapshot;

/// The OTLP metrics exporter's settings.
#[derive(Debug, Clone)]
pub(crate) struct OtlpMetricSettings {
    pub otlp: OtlpSettings,
    pub temporality: Preference,
}

impl OtlpMetricSettings {
    pub(crate) fn resolve(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let temporality = vars
            .read("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", |var| parse_choice(var, Preference::CHOICES))?
            .unwrap_or(Preference::Cumulative);
        Ok(Self { otlp: OtlpSettings::resolve(vars, OtlpSignal::Metrics)?, temporality })
    }
}

/// Sends collections to an OTLP receiver.
#[derive(Debug)]
pub(crate) struct OtlpMetricExporter {
    client: OtlpClient,
    /// For OTLP/JSON.
    resource: Arc<Resource>,
    /// For protobuf.
    proto_resource: ProtoResource,
    temporalizer: Temporalizer,
}

impl OtlpMetricExporter {
    pub(crate) fn new(settings: OtlpMetricSettings, resource: Arc<Resource>) -> Self {
        Self {
            client: OtlpClient::new(&settings.otlp),
            proto_resource: crate::export::traces::otlp::model::resource(&resource),
            resource,
            temporalizer: Temporalizer::new(settings.temporality),
        }
    }
}

impl Exporter for OtlpMetricExporter {
    type Load = Snapshot;
    /// The request, encoded (and for HTTP, compressed) once; `None` when nothing is left to send.
    type Payload = Option<Bytes>;

    fn name(&self) -> &str {
        self.client.name()
    }

    fn timeout(&self) -> Duration {
        self.client.timeout()
    }

    fn encode(&mut self, snapshot: &Snapshot) -> Option<Bytes> {
        let snapshot = self.temporalizer.apply(snapshot);
        if snapshot.metrics.is_empty() {
            return None;
        }
        let request = if self.client.json() {
            let mut out = Vec::new();
            json::encode(&snapshot, &self.resource, &mut out);
            out
        } else {
            model::request(self.proto_resource.clone(), &snapshot).encode_to_vec()
        };
        Some(self.client.payload(request))
    }

    async fn send(&mut self, payload: &Option<Bytes>) -> Result<Sent, ExportError> {
        let Some(payload) = payload else { return Ok(Sent::default()) };
        let response: ExportMetricsServiceResponse = self.client.send(payload).await?;
        let rejected = response.partial_success.map_or(0, |p| u64::try_from(p.rejected_data_points).unwrap_or(0));
        Ok(Sent { rejected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporality_preference_is_read_in_any_case_and_checked() {
        let resolve = |pairs: &[(&'static str, &str)]| OtlpMetricSettings::resolve(&Vars::of(pairs));
        assert_eq!(resolve(&[]).unwrap().temporality, Preference::Cumulative);
        let name = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
        assert_eq!(resolve(&[(name, "Delta")]).unwrap().temporality, Preference::Delta);
        assert_eq!(resolve(&[(name, " LOWMEMORY ")]).unwrap().temporality, Preference::LowMemory);
        let err = resolve(&[(name, "deltas")]).unwrap_err();
        assert_eq!(err.variable(), name, "{err}");
        assert!(err.to_string().contains("cumulative"), "{err}");
    }
}
