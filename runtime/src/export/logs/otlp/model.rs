//! The one mapping from log records to OpenTelemetry's logs data model, as borrowed views of a
//! batch: [`json`](super::json) writes them as OTLP/JSON without building anything,
//! and [`request`] turns them into `opentelemetry-proto`'s types for protobuf.
//!
//! A batch is one `ResourceLogs` with one `ScopeLogs` per target (the scope's name is the
//! target, as OpenTelemetry's SDK groups records by logger), in the order each target's first
//! record arrived, records in arrival order within it. A record maps to a `LogRecord`:
//! - `time_unix_nano` and `observed_time_unix_nano`: when it was made (the bridges observe
//!   records as they are made);
//! - `severity_number` (the first of the level's range) and `severity_text` (`INFO`...);
//! - `body`: a string value;
//! - `attributes`: the record's, typed (a `u64` past OTLP's signed 64 bits as its decimal
//!   string, as spans carry one), then `code.file.path` and `code.line.number`;
//!   `dropped_attributes_count`: those left off beyond the count limit;
//! - `trace_id`, `span_id` and `flags` (the W3C trace flags, low 8 bits) of the span it was
//!   made in, sampled or not; a record made outside any span has none of the three.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as ProtoRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;

use crate::clock::Converter;
use crate::export::logs::LogBatch;
use crate::export::traces::otlp::model::{key_value, Value};
use crate::id::{SpanId, TraceId};
use crate::logs::LogRecord;

/// The semantic conventions' names of a record's code location.
pub(crate) const CODE_FILE_PATH: &str = "code.file.path";
pub(crate) const CODE_LINE_NUMBER: &str = "code.line.number";

/// The records of one scope (one target).
#[derive(Debug)]
pub(crate) struct ScopeView<'a> {
    pub name: &'a str,
    records: Vec<&'a LogRecord>,
    clock: &'a Converter,
}

impl<'a> ScopeView<'a> {
    pub(crate) fn records(&self) -> impl Iterator<Item = RecordView<'a>> + '_ {
        self.records.iter().map(|record| RecordView { record, clock: self.clock })
    }
}

/// The records of `batch` by scope, each scope where its first record is.
pub(crate) fn scopes(batch: &LogBatch) -> Vec<ScopeView<'_>> {
    let mut scopes: Vec<ScopeView<'_>> = Vec::new();
    // Most batches have a handful of targets; a batch of 512 distinct ones stays linear.
    let mut index: HashMap<&str, usize> = HashMap::new();
    for record in &batch.records {
        let at = *index.entry(record.target.as_ref()).or_insert_with(|| {
            scopes.push(ScopeView { name: &record.target, records: Vec::new(), clock: &batch.clock });
            scopes.len() - 1
        });
        scopes[at].records.push(record);
    }
    scopes
}

/// One record, as OTLP sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordView<'a> {
    record: &'a LogRecord,
    clock: &'a Converter,
}

impl<'a> RecordView<'a> {
    /// When it was made, which is also when it was observed.
    pub(crate) fn time_unix_nano(&self) -> u64 {
        self.clock.unix_nanos(self.record.tick)
    }

    pub(crate) fn severity_number(&self) -> i32 {
        self.record.level.severity_number()
    }

    pub(crate) fn severity_text(&self) -> &'static str {
        self.record.level.as_str()
    }

    pub(crate) fn body(&self) -> &'a str {
        self.record.body()
    }

    /// Calls `visit` with each attribute: the record's, then its code location.
    pub(crate) fn attributes(&self, mut visit: impl FnMut(&str, Value<'_>)) {
        for (key, value) in self.record.attributes() {
            visit(key, value.into());
        }
        if let Some(location) = &self.record.location {
            visit(CODE_FILE_PATH, Value::Str(&location.file));
            if let Some(line) = location.line {
                visit(CODE_LINE_NUMBER, Value::Int(line.into()));
            }
        }
    }

    pub(crate) fn dropped_attributes_count(&self) -> u32 {
        self.record.dropped_attributes
    }

    /// The trace id, span id and `LogRecordFlags` (the W3C trace flags) of the span it was
    /// made in.
    pub(crate) fn span(&self) -> Option<(TraceId, SpanId, u32)> {
        self.record.span.as_ref().map(|span| (span.trace_id, span.span_id, u32::from(span.flags)))
    }
}

/// The request carrying `batch` for `resource`.
pub(crate) fn request(resource: ProtoResource, batch: &LogBatch) -> ExportLogsServiceRequest {
    let scope_logs = scopes(batch)
        .iter()
        .map(|scope| ScopeLogs {
            scope: Some(InstrumentationScope { name: scope.name.to_owned(), ..InstrumentationScope::default() }),
            log_records: scope.records().map(|record| proto_record(&record)).collect(),
            schema_url: String::new(),
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs { resource: Some(resource), scope_logs, schema_url: String::new() }],
    }
}

fn proto_record(record: &RecordView<'_>) -> ProtoRecord {
    let time = record.time_unix_nano();
    let (trace_id, span_id, flags) = match record.span() {
        Some((trace_id, span_id, flags)) => {
            (trace_id.to_int().to_be_bytes().to_vec(), span_id.to_int().to_be_bytes().to_vec(), flags)
        }
        None => (Vec::new(), Vec::new(), 0),
    };
    let mut attributes = Vec::new();
    record.attributes(|key, value| attributes.push(key_value(key, value)));
    ProtoRecord {
        time_unix_nano: time,
        observed_time_unix_nano: time,
        severity_number: record.severity_number(),
        severity_text: record.severity_text().to_owned(),
        body: Some(AnyValue { value: Some(any_value::Value::StringValue(record.body().to_owned())) }),
        attributes,
        dropped_attributes_count: record.dropped_attributes_count(),
        flags,
        trace_id,
        span_id,
        event_name: String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::borrow::Cow;

    use opentelemetry_proto::tonic::logs::v1::SeverityNumber;

    use super::*;
    use crate::config::log_level::Level;
    use crate::id::SegmentId;
    use crate::logs::Location;
    use crate::span::current::LogIdentity;
    use crate::tag::TagValue;

    /// A record of `target` at `tick` with `attributes`, in no span.
    pub(crate) fn record(
        target: &'static str,
        tick: u64,
        body: &str,
        attributes: &[(&'static str, TagValue)],
    ) -> LogRecord {
        let mut record = LogRecord::of(body, attributes);
        record.target = Cow::Borrowed(target);
        record.tick = tick;
        record
    }

    /// A batch with something of everything the mapping handles: several targets interleaved,
    /// every attribute type, a `u64` past `i64::MAX`, a code location with and without a line,
    /// sampled and unsampled spans, text that needs escaping, dropped attributes.
    pub(crate) fn everything() -> LogBatch {
        let trace_id = TraceId::from_int(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c).unwrap();
        let attributes = [
            ("order.id", TagValue::I64(-7)),
            ("order.total", TagValue::F64(12.5)),
            ("order.paid", TagValue::Bool(true)),
            ("order.note", TagValue::from("gift")),
            ("order.huge", TagValue::U64(u64::MAX)),
            ("order.count", TagValue::U64(3)),
        ];
        let mut placed = record("shop::orders", 1_000, "order \"7\" placed\n\tfor ünïcode", &attributes);
        placed.level = Level::Warn;
        placed.dropped_attributes = 2;
        placed.location = Some(Location { file: Cow::Borrowed("src/orders.rs"), line: Some(42) });
        placed.span = Some(LogIdentity {
            trace_id,
            span_id: SpanId::from_int(0x00f0_67aa_0ba9_02b7).unwrap(),
            flags: 0x01,
            segment: Some((SegmentId::random(), 0)),
            sw_trace_id: None,
        });
        let mut unsampled = record("db", 2_000, "slow query", &[]);
        unsampled.level = Level::Error;
        unsampled.location = Some(Location { file: Cow::Borrowed("src/db.rs"), line: None });
        unsampled.span = Some(LogIdentity {
            trace_id: TraceId::from_int(5).unwrap(),
            span_id: SpanId::from_int(6).unwrap(),
            flags: 0,
            segment: None,
            sw_trace_id: None,
        });
        let mut outside = record("shop::orders", 3_000, "", &[]);
        outside.level = Level::Trace;
        LogBatch { records: vec![placed, unsampled, outside], clock: Converter::current() }
    }

    fn resource() -> ProtoResource {
        let kv = key_value("service.name", Value::Str("shop"));
        ProtoResource { attributes: vec![kv], ..ProtoResource::default() }
    }

    fn attribute<'a>(record: &'a ProtoRecord, key: &str) -> Option<&'a any_value::Value> {
        record.attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()
    }

    #[test]
    fn records_map_to_log_records_under_their_targets_scopes() {
        let batch = everything();
        let request = request(resource(), &batch);
        assert_eq!(request.resource_logs.len(), 1);
        let resource_logs = &request.resource_logs[0];
        assert_eq!(resource_logs.resource, Some(resource()));
        let scopes: Vec<(&str, usize)> = resource_logs
            .scope_logs
            .iter()
            .map(|s| (s.scope.as_ref().unwrap().name.as_str(), s.log_records.len()))
            .collect();
        assert_eq!(scopes, [("shop::orders", 2), ("db", 1)], "one scope per target, where it first appears");

        let placed = &resource_logs.scope_logs[0].log_records[0];
        let time = batch.clock.unix_nanos(1_000);
        assert_eq!((placed.time_unix_nano, placed.observed_time_unix_nano), (time, time));
        assert_eq!(placed.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(placed.severity_text, "WARN");
        let body = placed.body.as_ref().and_then(|b| b.value.as_ref());
        assert_eq!(body, Some(&any_value::Value::StringValue("order \"7\" placed\n\tfor ünïcode".to_owned())));
        assert_eq!(attribute(placed, "order.id"), Some(&any_value::Value::IntValue(-7)));
        assert_eq!(attribute(placed, "order.total"), Some(&any_value::Value::DoubleValue(12.5)));
        assert_eq!(attribute(placed, "order.paid"), Some(&any_value::Value::BoolValue(true)));
        assert_eq!(attribute(placed, "order.note"), Some(&any_value::Value::StringValue("gift".to_owned())));
        assert_eq!(attribute(placed, "order.huge"), Some(&any_value::Value::StringValue(u64::MAX.to_string())));
        assert_eq!(attribute(placed, "order.count"), Some(&any_value::Value::IntValue(3)));
        assert_eq!(attribute(placed, CODE_FILE_PATH), Some(&any_value::Value::StringValue("src/orders.rs".to_owned())));
        assert_eq!(attribute(placed, CODE_LINE_NUMBER), Some(&any_value::Value::IntValue(42)));
        assert_eq!(placed.dropped_attributes_count, 2);
        assert_eq!(hex(&placed.trace_id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(hex(&placed.span_id), "00f067aa0ba902b7");
        assert_eq!(placed.flags, 1);

        let outside = &resource_logs.scope_logs[0].log_records[1];
        assert_eq!((outside.severity_number, outside.severity_text.as_str()), (SeverityNumber::Trace as i32, "TRACE"));
        assert!(outside.trace_id.is_empty() && outside.span_id.is_empty() && outside.flags == 0, "{outside:?}");
        assert!(outside.attributes.is_empty());

        let unsampled = &resource_logs.scope_logs[1].log_records[0];
        assert_eq!(unsampled.severity_number, SeverityNumber::Error as i32);
        assert_eq!((unsampled.trace_id.len(), unsampled.span_id.len(), unsampled.flags), (16, 8, 0));
        assert_eq!(attribute(unsampled, CODE_FILE_PATH), Some(&any_value::Value::StringValue("src/db.rs".to_owned())));
        assert_eq!(attribute(unsampled, CODE_LINE_NUMBER), None, "no line, no line number");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
