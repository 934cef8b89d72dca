//! The SkyWalking logs exporter (`OTEL_LOGS_EXPORTER=skywalking`): each batch is one client
//! stream of `LogData` to the OAP's `skywalking.v3.LogReportService/collect`, with the trace
//! exporter's OAP settings (`SW_AGENT_COLLECTOR_BACKEND_SERVICES`, `SW_AGENT_AUTHENTICATION`,
//! TLS, `SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT`, the shorter of it and
//! `OTEL_BLRP_EXPORT_TIMEOUT` bounding each send). Each record becomes one `LogData` as the Java
//! agent's log appenders write them:
//!
//! - the time in ms, the service and instance (on every log, as the Java agent does), layer
//!   `GENERAL` (what the OAP assumes when none is given, written out);
//! - the body as a `TextLog` of type `TEXT`;
//! - tags `level` (`ERROR` … `TRACE`) and `logger` (the target), then the record's attributes
//!   with their values as text, then `code.file.path` and `code.line.number` when known;
//! - a `TraceContext` when the record was made in a sampled span: the trace id and segment id
//!   exactly as the trace exporter writes them in the `SegmentObject`, and the span's index in
//!   that segment, which is the `spanId` of its `SpanObject`; so the OAP links the log to the
//!   span. A record outside any span, or in an unsampled trace (whose segments are never
//!   reported), has none, as the Java agent sends none in an ignored context.
//!
//! The endpoint is left empty: a record carries its span's ids, not its segment's endpoint
//! name, and the OAP finds the endpoint through the trace.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;

use crate::clock::Converter;
use crate::export::logs::LogBatch;
use crate::export::resource::Resource;
use crate::export::traces::skywalking::{self as oap, OapClient, SkywalkingSettings};
use crate::export::{ExportError, Exporter, Sent};
use crate::logs::LogRecord;
use crate::proto::skywalking::{
    log_data_body, KeyStringValuePair, LogData, LogDataBody, LogTags, TextLog, TraceContext,
};

const COLLECT_PATH: &str = "/skywalking.v3.LogReportService/collect";
/// The layer of the service's logs: the OAP's default, that of the services agents report.
const LAYER: &str = "GENERAL";
/// The body's type, as the Java agent names a text body.
const TEXT: &str = "TEXT";

/// Sends batches of log records to a SkyWalking OAP.
#[derive(Debug)]
pub(crate) struct SkywalkingLogExporter {
    resource: Arc<Resource>,
    oap: OapClient,
}

impl SkywalkingLogExporter {
    /// Connects lazily; each send is bounded by the shorter of the OAP's upstream timeout and
    /// `OTEL_BLRP_EXPORT_TIMEOUT` (`export_timeout`).
    pub(crate) fn new(settings: &SkywalkingSettings, resource: Arc<Resource>, export_timeout: Duration) -> Self {
        Self { resource, oap: OapClient::new(settings, "logs", settings.timeout.min(export_timeout)) }
    }
}

impl Exporter for SkywalkingLogExporter {
    type Load = LogBatch;
    /// One encoded `LogData` per record.
    type Payload = Vec<Bytes>;

    fn name(&self) -> &str {
        &self.oap.name
    }

    fn timeout(&self) -> Duration {
        self.oap.timeout
    }

    fn encode(&mut self, batch: &LogBatch) -> Vec<Bytes> {
        batch
            .records
            .iter()
            .map(|record| log_data(record, &batch.clock, &self.resource).encode_to_vec().into())
            .collect()
    }

    async fn send(&mut self, messages: &Vec<Bytes>) -> Result<Sent, ExportError> {
        self.oap.client_stream(COLLECT_PATH, messages).await?;
        Ok(Sent::default())
    }
}

/// A record as the OAP receives it.
pub(crate) fn log_data(record: &LogRecord, clock: &Converter, resource: &Resource) -> LogData {
    let pair = |key: &str, value: String| KeyStringValuePair { key: key.to_owned(), value };
    let mut tags = Vec::with_capacity(record.attribute_count() + 4);
    tags.push(pair("level", record.level.as_str().to_owned()));
    tags.push(pair("logger", record.target.to_string()));
    tags.extend(record.attributes().map(|(key, value)| pair(key, value.to_string())));
    if let Some(location) = &record.location {
        tags.push(pair("code.file.path", location.file.to_string()));
        if let Some(line) = location.line {
            tags.push(pair("code.line.number", line.to_string()));
        }
    }
    let trace_context = record.span.as_ref().filter(|span| span.flags & 1 == 1).and_then(|span| {
        let (segment, index) = span.segment?;
        Some(TraceContext {
            trace_id: oap::trace_id(span.sw_trace_id.as_deref(), span.trace_id),
            trace_segment_id: segment.to_string(),
            span_id: i32::try_from(index).unwrap_or(i32::MAX),
        })
    });
    LogData {
        timestamp: i64::try_from(clock.unix_nanos(record.tick) / 1_000_000).unwrap_or(i64::MAX),
        service: resource.service.clone(),
        service_instance: resource.instance.clone(),
        endpoint: String::new(),
        body: Some(LogDataBody {
            r#type: TEXT.to_owned(),
            content: Some(log_data_body::Content::Text(TextLog { text: record.body().to_owned() })),
        }),
        trace_context,
        tags: Some(LogTags { data: tags }),
        layer: LAYER.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::config::log_level::Level;
    use crate::id::{SegmentId, SpanId, TraceId};
    use crate::logs::Location;
    use crate::span::current::LogIdentity;
    use crate::tag::TagValue;

    fn resource() -> Resource {
        Resource {
            attributes: Vec::new(),
            service: "checkout".into(),
            instance: "checkout-1".into(),
            hostname: "host".into(),
        }
    }

    fn record(span: Option<LogIdentity>) -> LogRecord {
        let mut record =
            LogRecord::of("stock low", &[("item", TagValue::Str("apple".into())), ("left", TagValue::I64(3))]);
        record.level = Level::Warn;
        record.target = Cow::Borrowed("shop::stock");
        record.location = Some(Location { file: Cow::Borrowed("src/stock.rs"), line: Some(42) });
        record.span = span;
        record
    }

    fn identity(flags: u8, segment: Option<(SegmentId, u32)>, sw_trace_id: Option<&str>) -> LogIdentity {
        LogIdentity {
            trace_id: TraceId::from_int(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c).unwrap(),
            span_id: SpanId::from_int(0xb7ad_6b71_6920_3331).unwrap(),
            flags,
            segment,
            sw_trace_id: sw_trace_id.map(Arc::from),
        }
    }

    fn tags(data: &LogData) -> Vec<(&str, &str)> {
        data.tags.as_ref().unwrap().data.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect()
    }

    #[test]
    fn a_record_becomes_a_text_log_with_its_level_logger_attributes_and_location() {
        let clock = Converter::current();
        let mut record = record(None);
        record.tick = crate::clock::now();
        let data = log_data(&record, &clock, &resource());
        assert_eq!(data.timestamp as u64, clock.unix_nanos(record.tick) / 1_000_000, "ms");
        assert_eq!((data.service.as_str(), data.service_instance.as_str()), ("checkout", "checkout-1"));
        assert_eq!((data.endpoint.as_str(), data.layer.as_str()), ("", "GENERAL"));
        let body = data.body.as_ref().unwrap();
        assert_eq!(body.r#type, "TEXT");
        assert_eq!(body.content, Some(log_data_body::Content::Text(TextLog { text: "stock low".into() })));
        assert_eq!(
            tags(&data),
            [
                ("level", "WARN"),
                ("logger", "shop::stock"),
                ("item", "apple"),
                ("left", "3"),
                ("code.file.path", "src/stock.rs"),
                ("code.line.number", "42"),
            ]
        );
        assert_eq!(data.trace_context, None, "outside any span");
    }

    #[test]
    fn the_trace_context_names_the_segment_and_span_as_the_trace_exporter_writes_them() {
        let clock = Converter::current();
        let segment = SegmentId::from_int(0x1234_5678_9abc_def0_1234_5678_9abc_def0).unwrap();
        let data = log_data(&record(Some(identity(1, Some((segment, 2)), None))), &clock, &resource());
        let context = data.trace_context.unwrap();
        assert_eq!(context.trace_id, "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(context.trace_segment_id, segment.to_string());
        assert_eq!(context.trace_segment_id.len(), 32);
        assert_eq!(context.span_id, 2);

        let data = log_data(&record(Some(identity(1, Some((segment, 0)), Some("1.2.3")))), &clock, &resource());
        assert_eq!(data.trace_context.unwrap().trace_id, "1.2.3", "a SkyWalking caller's own trace id");

        let unsampled = log_data(&record(Some(identity(0, Some((segment, 0)), None))), &clock, &resource());
        assert_eq!(unsampled.trace_context, None, "an unsampled segment is never reported");
        let no_segment = log_data(&record(Some(identity(1, None, None))), &clock, &resource());
        assert_eq!(no_segment.trace_context, None, "a W3C context with no segment here");
    }
}
