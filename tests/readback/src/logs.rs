//! Reading back the log records of a `logs.jsonl` file: one OTLP/JSON
//! `ExportLogsServiceRequest` per line.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::{array, attributes, nanos};

/// One exported log record, flattened out of its request.
#[derive(Debug, Clone)]
pub struct ExportedLog {
    pub time: u128,
    pub observed_time: u128,
    pub severity_number: u64,
    pub severity_text: String,
    pub body: String,
    pub attributes: BTreeMap<String, Value>,
    pub dropped_attributes: u64,
    /// Absent outside any span.
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    /// W3C trace flags in the low 8 bits.
    pub flags: u64,
    /// The instrumentation scope: the record's target.
    pub scope: String,
    /// The resource's `service.name`.
    pub service: String,
}

/// Every record of a `logs.jsonl` file, in the order written.
pub fn read_logs(path: &Path) -> Vec<ExportedLog> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut logs = Vec::new();
    for (line, json) in text.lines().enumerate() {
        let request: Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("line {line} is not JSON: {e}: {json}"));
        for resource_logs in array(&request["resourceLogs"]) {
            let resource = attributes(&resource_logs["resource"]["attributes"]);
            let service = resource.get("service.name").and_then(Value::as_str).unwrap_or_default().to_owned();
            for scope_logs in array(&resource_logs["scopeLogs"]) {
                let scope = scope_logs["scope"]["name"].as_str().unwrap_or_default().to_owned();
                for record in array(&scope_logs["logRecords"]) {
                    logs.push(ExportedLog {
                        time: nanos(&record["timeUnixNano"]),
                        observed_time: nanos(&record["observedTimeUnixNano"]),
                        severity_number: record["severityNumber"].as_u64().unwrap_or(0),
                        severity_text: record["severityText"].as_str().unwrap_or_default().to_owned(),
                        body: record["body"]["stringValue"].as_str().map_or_else(String::new, str::to_owned),
                        attributes: attributes(&record["attributes"]),
                        dropped_attributes: record["droppedAttributesCount"].as_u64().unwrap_or(0),
                        trace_id: record["traceId"].as_str().filter(|id| !id.is_empty()).map(str::to_owned),
                        span_id: record["spanId"].as_str().filter(|id| !id.is_empty()).map(str::to_owned),
                        flags: record["flags"].as_u64().unwrap_or(0),
                        scope: scope.clone(),
                        service: service.clone(),
                    });
                }
            }
        }
    }
    logs
}
