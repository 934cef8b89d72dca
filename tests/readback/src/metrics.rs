//! The collections of a `metrics.jsonl` file: each line an OTLP/JSON
//! `ExportMetricsServiceRequest`, read back into plain values (64-bit integers, sent as
//! decimal strings, parsed; ids as their hex).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::{array, attributes, nanos, string};

/// One line: one collection.
#[derive(Debug, Clone)]
pub struct Collection {
    /// The resource's `service.name`.
    pub service: String,
    pub metrics: Vec<ExportedMetric>,
}

impl Collection {
    /// The metric named `name`, if the collection has it.
    pub fn metric(&self, name: &str) -> Option<&ExportedMetric> {
        self.metrics.iter().find(|metric| metric.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct ExportedMetric {
    /// The instrumentation scope's name and version.
    pub scope: (String, String),
    pub name: String,
    pub unit: String,
    pub description: String,
    /// `sum`, `gauge` or `histogram`.
    pub kind: String,
    /// OTLP `AggregationTemporality` (1 delta, 2 cumulative); 0 for gauges.
    pub temporality: u64,
    pub monotonic: bool,
    pub points: Vec<ExportedPoint>,
}

impl ExportedMetric {
    /// The point whose attributes are exactly `attributes` (`key`, JSON value).
    pub fn point(&self, attributes: &[(&str, Value)]) -> Option<&ExportedPoint> {
        let wanted: BTreeMap<String, Value> = attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        self.points.iter().find(|point| point.attributes == wanted)
    }
}

#[derive(Debug, Clone)]
pub struct ExportedPoint {
    pub attributes: BTreeMap<String, Value>,
    pub start: Option<u128>,
    pub time: u128,
    /// A sum's or gauge's value: `asInt` parsed, or `asDouble`.
    pub value: Option<f64>,
    pub histogram: Option<ExportedHistogram>,
    pub exemplars: Vec<ExportedExemplar>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportedHistogram {
    pub count: u64,
    pub sum: Option<f64>,
    pub bucket_counts: Vec<u64>,
    pub explicit_bounds: Vec<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct ExportedExemplar {
    pub time: u128,
    pub value: f64,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub filtered_attributes: BTreeMap<String, Value>,
}

/// Every collection of a `metrics.jsonl` file, oldest first; none if there is no file.
pub fn read_metrics(path: &Path) -> Vec<Collection> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .enumerate()
        .map(|(line, json)| {
            let request: Value =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("line {line} is not JSON: {e}: {json}"));
            collection(&request)
        })
        .collect()
}

fn collection(request: &Value) -> Collection {
    let resource_metrics = array(&request["resourceMetrics"]);
    assert_eq!(resource_metrics.len(), 1, "one resource per request: {request}");
    let resource = &resource_metrics[0];
    let service = attributes(&resource["resource"]["attributes"]).get("service.name").map(string).unwrap_or_default();
    let mut metrics = Vec::new();
    for scope_metrics in array(&resource["scopeMetrics"]) {
        let scope = &scope_metrics["scope"];
        let scope = (string(&scope["name"]), scope["version"].as_str().unwrap_or_default().to_owned());
        for metric in array(&scope_metrics["metrics"]) {
            metrics.push(exported_metric(scope.clone(), metric));
        }
    }
    Collection { service, metrics }
}

fn exported_metric(scope: (String, String), metric: &Value) -> ExportedMetric {
    let text = |field: &str| metric[field].as_str().unwrap_or_default().to_owned();
    let (kind, data) = ["sum", "gauge", "histogram"]
        .into_iter()
        .find_map(|kind| metric.get(kind).map(|data| (kind, data)))
        .unwrap_or_else(|| panic!("a sum, gauge or histogram: {metric}"));
    ExportedMetric {
        scope,
        name: text("name"),
        unit: text("unit"),
        description: text("description"),
        kind: kind.to_owned(),
        temporality: data["aggregationTemporality"].as_u64().unwrap_or(0),
        monotonic: data["isMonotonic"].as_bool().unwrap_or(false),
        points: array(&data["dataPoints"]).iter().map(|point| exported_point(kind, point)).collect(),
    }
}

fn exported_point(kind: &str, point: &Value) -> ExportedPoint {
    let histogram = (kind == "histogram").then(|| ExportedHistogram {
        count: decimal(&point["count"]),
        sum: point.get("sum").map(double),
        bucket_counts: array(&point["bucketCounts"]).iter().map(decimal).collect(),
        explicit_bounds: array(&point["explicitBounds"]).iter().map(double).collect(),
        min: point.get("min").map(double),
        max: point.get("max").map(double),
    });
    ExportedPoint {
        attributes: attributes(&point["attributes"]),
        start: point.get("startTimeUnixNano").map(nanos),
        time: nanos(&point["timeUnixNano"]),
        value: number(point),
        histogram,
        exemplars: array(&point["exemplars"])
            .iter()
            .map(|exemplar| ExportedExemplar {
                time: nanos(&exemplar["timeUnixNano"]),
                value: number(exemplar).expect("an exemplar has a value"),
                trace_id: exemplar["traceId"].as_str().map(str::to_owned),
                span_id: exemplar["spanId"].as_str().map(str::to_owned),
                filtered_attributes: attributes(&exemplar["filteredAttributes"]),
            })
            .collect(),
    }
}

/// `asInt` (a decimal string) or `asDouble`.
fn number(value: &Value) -> Option<f64> {
    match (value.get("asInt"), value.get("asDouble")) {
        (Some(int), _) => Some(int.as_str().expect("asInt is a string").parse::<i64>().expect("decimal") as f64),
        (None, Some(double)) => Some(self::double(double)),
        (None, None) => None,
    }
}

/// A ProtoJSON `uint64`: a decimal string.
fn decimal(value: &Value) -> u64 {
    value.as_str().unwrap_or_else(|| panic!("64-bit integers are strings, got {value}")).parse().expect("decimal")
}

/// A ProtoJSON double: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn double(value: &Value) -> f64 {
    match value.as_str() {
        Some("NaN") => f64::NAN,
        Some("Infinity") => f64::INFINITY,
        Some("-Infinity") => f64::NEG_INFINITY,
        Some(other) => panic!("a double, got {other:?}"),
        None => value.as_f64().unwrap_or_else(|| panic!("a double, got {value}")),
    }
}
