//! OTLP/JSON of logs: an `ExportLogsServiceRequest` written straight from a batch's views (see
//! [`model`](super::model)), by the rules the trace and metrics writers follow and with
//! their pieces: lowerCamelCase names, enums as numbers, 64-bit integers as decimal strings, hex
//! trace and span ids, default values left out. What `http/json` sends and what `local` writes
//! to `logs.jsonl`, one request per line.

use crate::export::logs::otlp::model::{self, RecordView};
use crate::export::logs::LogBatch;
use crate::export::resource::Resource;
use crate::export::traces::otlp::json::{push_escaped, push_json_string, push_u64, write_attributes, write_resource};

/// Writes requests for one resource.
#[derive(Debug, Clone)]
pub(crate) struct RequestWriter {
    /// Every request's beginning, up to the opening of its scope array.
    head: Vec<u8>,
}

/// What closes the scope array and the request.
const TAIL: &[u8] = b"]}]}";

/// About what a record with a sentence of body, a few attributes and its code location takes,
/// to size a batch's buffer once.
const TYPICAL_RECORD_BYTES: usize = 400;

impl RequestWriter {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut head = br#"{"resourceLogs":[{"resource":"#.to_vec();
        write_resource(&mut head, resource);
        head.extend_from_slice(br#","scopeLogs":["#);
        Self { head }
    }

    /// About how many bytes a request carrying `batch` takes (and a line's end).
    pub(crate) fn size_hint(&self, batch: &LogBatch) -> usize {
        self.head.len() + TAIL.len() + 1 + batch.records.len() * TYPICAL_RECORD_BYTES
    }

    /// Appends the request carrying `batch`.
    pub(crate) fn write(&self, out: &mut Vec<u8>, batch: &LogBatch) {
        out.extend_from_slice(&self.head);
        for (index, scope) in model::scopes(batch).iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"scope":{"name":"#);
            push_json_string(out, scope.name);
            out.extend_from_slice(br#"},"logRecords":["#);
            for (index, record) in scope.records().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_record(out, &record);
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(TAIL);
    }
}

fn write_record(out: &mut Vec<u8>, record: &RecordView<'_>) {
    let time = record.time_unix_nano();
    out.extend_from_slice(br#"{"timeUnixNano":""#);
    push_u64(out, time);
    out.extend_from_slice(br#"","observedTimeUnixNano":""#);
    push_u64(out, time);
    out.extend_from_slice(br#"","severityNumber":"#);
    push_u64(out, u64::try_from(record.severity_number()).unwrap_or_default());
    out.extend_from_slice(br#","severityText":"#);
    push_json_string(out, record.severity_text());
    out.extend_from_slice(br#","body":{"stringValue":""#);
    push_escaped(out, record.body());
    out.extend_from_slice(br#""}"#);
    write_attributes(out, br#","attributes":"#, |visit| record.attributes(visit));
    let dropped = record.dropped_attributes_count();
    if dropped > 0 {
        out.extend_from_slice(br#","droppedAttributesCount":"#);
        push_u64(out, dropped.into());
    }
    if let Some((trace_id, span_id, flags)) = record.span() {
        if flags != 0 {
            out.extend_from_slice(br#","flags":"#);
            push_u64(out, flags.into());
        }
        out.extend_from_slice(br#","traceId":""#);
        out.extend_from_slice(&trace_id.hex());
        out.extend_from_slice(br#"","spanId":""#);
        out.extend_from_slice(&span_id.hex());
        out.push(b'"');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

    use super::*;
    use crate::clock::Converter;
    use crate::config::env::Vars;
    use crate::config::Config;
    use crate::export::logs::otlp::model::tests::{everything, record};
    use crate::export::traces::otlp::model::resource as proto_resource;

    fn decode(json: &[u8]) -> ExportLogsServiceRequest {
        serde_json::from_slice(json).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(json)))
    }

    #[test]
    fn the_json_is_the_protobuf_model_in_protojson() {
        let vars = [("OTEL_SERVICE_NAME", "shop"), ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=a%22b")];
        let resource = Resource::new(&Config::new().resolve(&Vars::of(&vars)).unwrap());
        let batch = everything();
        let writer = RequestWriter::new(&resource);
        let mut json = Vec::with_capacity(writer.size_hint(&batch));
        writer.write(&mut json, &batch);
        assert_eq!(decode(&json), model::request(proto_resource(&resource), &batch));
        let text = String::from_utf8(json).unwrap();
        assert!(text.contains(r#""traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7""#), "{text}");
        assert!(text.contains(r#""severityNumber":13,"severityText":"WARN""#), "enums are numbers: {text}");
        assert!(text.contains(r#"{"key":"order.id","value":{"intValue":"-7"}}"#), "{text}");
    }

    #[test]
    fn a_batch_of_one_target_is_one_scope_and_requests_follow_each_other() {
        let resource = Resource::new(&Config::new().resolve(&Vars::of(&[])).unwrap());
        let batch = LogBatch {
            records: vec![record("app", 1, "a", &[]), record("app", 2, "b", &[])],
            clock: Converter::current(),
        };
        let writer = RequestWriter::new(&resource);
        let mut json = Vec::new();
        writer.write(&mut json, &batch);
        let first = json.len();
        writer.write(&mut json, &batch);
        let (one, two) = (decode(&json[..first]), decode(&json[first..]));
        assert_eq!(one, two);
        let scopes = &one.resource_logs[0].scope_logs;
        assert_eq!(scopes.len(), 1);
        assert_eq!(scopes[0].log_records.len(), 2);
    }
}
