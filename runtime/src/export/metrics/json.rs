//! OTLP/JSON of metrics: an `ExportMetricsServiceRequest` written straight from a [`Snapshot`],
//! as the OpenTelemetry protocol specifies for JSON (the same rules as the trace writer's, whose
//! pieces it uses): lowerCamelCase names, enums as numbers, 64-bit integers as decimal strings,
//! hex trace and span ids, doubles as numbers (`"NaN"`, `"Infinity"`, `"-Infinity"` as
//! strings), default values left out.
//!
//! One request per snapshot: one `ResourceMetrics`, one `ScopeMetrics` per instrumentation
//! scope (in the order instruments of each first appear). Sums and histograms carry each
//! metric's own temporality and window start, so an exporter that sends deltas encodes its
//! rewritten copy with the same function.

use std::io::Write as _;

use crate::export::resource::Resource;
use crate::export::traces::otlp::json::{push_json_string, push_u64, write_attributes, write_resource, List};
use crate::export::traces::otlp::model::Value;
use crate::metrics::snapshot::{Exemplar, HistogramPoint, Metric, Number, Point, PointValue, Snapshot, Temporality};
use crate::metrics::InstrumentKind;

/// OTLP's `AggregationTemporality`.
const DELTA: u64 = 1;
const CUMULATIVE: u64 = 2;

/// The exemplar attribute naming the CPU profile of the recording's local root span, as
/// Pyroscope's span profiles name it.
const PROFILE_ID: &str = "pyroscope.profile.id";

/// Appends the request carrying `snapshot` for `resource`.
pub(crate) fn encode(snapshot: &Snapshot, resource: &Resource, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"resourceMetrics":[{"resource":"#);
    write_resource(out, resource);
    let mut scopes: Vec<(&str, &str)> = Vec::new();
    for metric in &snapshot.metrics {
        if !scopes.contains(&metric.meta.scope) {
            scopes.push(metric.meta.scope);
        }
    }
    let mut scope_list = List::new(br#","scopeMetrics":"#);
    for scope @ (name, version) in scopes {
        scope_list.item(out);
        out.extend_from_slice(br#"{"scope":{"name":"#);
        push_json_string(out, name);
        if !version.is_empty() {
            out.extend_from_slice(br#","version":"#);
            push_json_string(out, version);
        }
        out.extend_from_slice(br#"},"metrics":["#);
        for (index, metric) in snapshot.metrics.iter().filter(|metric| metric.meta.scope == scope).enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_metric(out, metric, snapshot.time_unix_nanos);
        }
        out.extend_from_slice(b"]}");
    }
    scope_list.end(out);
    out.extend_from_slice(b"}]}");
}

fn write_metric(out: &mut Vec<u8>, metric: &Metric, time_unix_nanos: u64) {
    let meta = metric.meta;
    out.extend_from_slice(br#"{"name":"#);
    push_json_string(out, meta.name);
    if !meta.description.is_empty() {
        out.extend_from_slice(br#","description":"#);
        push_json_string(out, meta.description);
    }
    if !meta.unit.is_empty() {
        out.extend_from_slice(br#","unit":"#);
        push_json_string(out, meta.unit);
    }
    let temporality = match metric.temporality {
        Temporality::Delta => DELTA,
        Temporality::Cumulative => CUMULATIVE,
    };
    let kind = meta.kind;
    out.extend_from_slice(match kind {
        InstrumentKind::Histogram => br#","histogram":{"dataPoints":["#,
        InstrumentKind::Gauge | InstrumentKind::ObservableGauge => br#","gauge":{"dataPoints":["#,
        _ => br#","sum":{"dataPoints":["#,
    });
    // A gauge's points have no window: only sums and histograms say where theirs starts.
    let start =
        (!matches!(kind, InstrumentKind::Gauge | InstrumentKind::ObservableGauge)).then_some(metric.start_unix_nanos);
    for (index, point) in metric.points.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_point(out, point, start, time_unix_nanos, metric.temporality == Temporality::Delta);
    }
    out.push(b']');
    if kind == InstrumentKind::Histogram || kind.is_sum() {
        out.extend_from_slice(br#","aggregationTemporality":"#);
        push_u64(out, temporality);
    }
    if kind.is_monotonic() {
        out.extend_from_slice(br#","isMonotonic":true"#);
    }
    out.extend_from_slice(b"}}");
}

/// A `NumberDataPoint` or a `HistogramDataPoint`, as the point's value is.
fn write_point(out: &mut Vec<u8>, point: &Point, start: Option<u64>, time_unix_nanos: u64, delta: bool) {
    out.push(b'{');
    if let Some(start) = start {
        out.extend_from_slice(br#""startTimeUnixNano":""#);
        push_u64(out, start);
        out.extend_from_slice(br#"","#);
    }
    out.extend_from_slice(br#""timeUnixNano":""#);
    push_u64(out, time_unix_nanos);
    out.extend_from_slice(br#"","#);
    match &point.value {
        PointValue::Sum(number) | PointValue::Gauge(number) => write_number(out, *number),
        PointValue::Histogram(histogram) => write_histogram(out, histogram, delta),
    }
    let mut exemplars = List::new(br#","exemplars":"#);
    for exemplar in &point.exemplars {
        exemplars.item(out);
        write_exemplar(out, exemplar);
    }
    exemplars.end(out);
    write_attributes(out, br#","attributes":"#, |visit| {
        for (key, value) in point.attributes.iter() {
            visit(key.wire_name(), value.into());
        }
    });
    out.push(b'}');
}

/// `"count":…,"sum":…,"bucketCounts":[…],"explicitBounds":[…],"min":…,"max":…`. The sum is
/// left out once a negative value was recorded (OTLP's sum is meant for non-negative
/// recordings), min and max while nothing was, and from a delta point (its extremes are the
/// run's, not the interval's).
fn write_histogram(out: &mut Vec<u8>, histogram: &HistogramPoint, delta: bool) {
    out.extend_from_slice(br#""count":""#);
    push_u64(out, histogram.count);
    out.push(b'"');
    if !(histogram.count > 0 && histogram.min < 0.0) {
        out.extend_from_slice(br#","sum":"#);
        push_f64(out, histogram.sum);
    }
    out.extend_from_slice(br#","bucketCounts":["#);
    for (index, count) in histogram.counts.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.push(b'"');
        push_u64(out, *count);
        out.push(b'"');
    }
    out.push(b']');
    let mut bounds = List::new(br#","explicitBounds":"#);
    for bound in histogram.bounds {
        bounds.item(out);
        push_f64(out, *bound);
    }
    bounds.end(out);
    if histogram.count > 0 && !delta {
        out.extend_from_slice(br#","min":"#);
        push_f64(out, histogram.min);
        out.extend_from_slice(br#","max":"#);
        push_f64(out, histogram.max);
    }
}

fn write_exemplar(out: &mut Vec<u8>, exemplar: &Exemplar) {
    out.extend_from_slice(br#"{"timeUnixNano":""#);
    push_u64(out, exemplar.time_unix_nanos);
    out.extend_from_slice(br#"","#);
    write_number(out, exemplar.value);
    if let Some((trace_id, span_id)) = exemplar.span {
        out.extend_from_slice(br#","spanId":""#);
        out.extend_from_slice(&span_id.hex());
        out.extend_from_slice(br#"","traceId":""#);
        out.extend_from_slice(&trace_id.hex());
        out.push(b'"');
    }
    write_attributes(out, br#","filteredAttributes":"#, |visit| {
        if let Some(profile) = exemplar.profile {
            visit(PROFILE_ID, Value::Id(profile));
        }
    });
    out.push(b'}');
}

/// `"asInt":"…"` or `"asDouble":…`. A `u64` past OTLP's signed 64 bits is clamped.
fn write_number(out: &mut Vec<u8>, number: Number) {
    match number {
        Number::U64(value) => {
            out.extend_from_slice(br#""asInt":""#);
            push_u64(out, value.min(i64::MAX as u64));
            out.push(b'"');
        }
        Number::I64(value) => {
            out.extend_from_slice(if value < 0 { br#""asInt":"-"# } else { br#""asInt":""# });
            push_u64(out, value.unsigned_abs());
            out.push(b'"');
        }
        Number::F64(value) => {
            out.extend_from_slice(br#""asDouble":"#);
            push_f64(out, value);
        }
    }
}

/// A double as ProtoJSON writes one: a number, or a string for what JSON has no number for.
pub(crate) fn push_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        // Writing to a `Vec` cannot fail.
        let _ = write!(out, "{value:?}");
    } else if value.is_nan() {
        out.extend_from_slice(br#""NaN""#);
    } else if value > 0.0 {
        out.extend_from_slice(br#""Infinity""#);
    } else {
        out.extend_from_slice(br#""-Infinity""#);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::metrics::v1 as otlp;
    use opentelemetry_proto::tonic::metrics::v1::{exemplar, metric::Data, number_data_point};

    use super::*;
    use crate::config::env::Vars;
    use crate::config::Config;
    use crate::id::{SpanId, TraceId};
    use crate::metrics::{InstrumentMeta, ValueKind};
    use crate::tag::{TagMeta, TagValue};

    static ROUTE: TagMeta = TagMeta::new("route", "http.route");
    static SIZE: TagMeta = TagMeta::new("size", "app.size");
    static OVERFLOW: TagMeta = TagMeta::new("overflow", "otel.metric.overflow");

    fn meta(
        name: &'static str,
        kind: InstrumentKind,
        value: ValueKind,
        scope: &'static str,
    ) -> &'static InstrumentMeta {
        Box::leak(Box::new(InstrumentMeta {
            name,
            unit: if kind == InstrumentKind::Histogram { "s" } else { "" },
            description: if name.ends_with("orders") { "Orders \"placed\"." } else { "" },
            kind,
            value,
            scope: (scope, if scope == "shop" { "0.1.0" } else { "" }),
            buckets: if kind == InstrumentKind::Histogram { &[0.5, 1.0] } else { &[] },
        }))
    }

    fn point(series: u32, attributes: Vec<(&'static TagMeta, TagValue)>, value: PointValue) -> Point {
        Point { series, attributes: Arc::from(attributes), value, exemplars: Vec::new() }
    }

    fn metric(meta: &'static InstrumentMeta, temporality: Temporality, points: Vec<Point>) -> Metric {
        Metric { meta, temporality, start_unix_nanos: 1_000, points }
    }

    fn resource() -> Resource {
        Resource::new(&Config::new().service_name("shop").resolve(&Vars::of(&[])).unwrap())
    }

    fn decode(snapshot: &Snapshot) -> ExportMetricsServiceRequest {
        let mut json = Vec::new();
        encode(snapshot, &resource(), &mut json);
        serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json)))
    }

    fn key_value(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn string(key: &str, value: &str) -> KeyValue {
        key_value(key, any_value::Value::StringValue(value.to_owned()))
    }

    fn int(key: &str, value: i64) -> KeyValue {
        key_value(key, any_value::Value::IntValue(value))
    }

    fn number(attributes: Vec<KeyValue>, start: u64, value: number_data_point::Value) -> otlp::NumberDataPoint {
        otlp::NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: 5_000,
            value: Some(value),
            ..Default::default()
        }
    }

    /// Every kind of point, two scopes, exemplars with and without a profile, a `u64` past
    /// `i64::MAX`, a negative histogram, an empty one, a delta sum: decoded by
    /// opentelemetry-proto's own ProtoJSON types into exactly the messages they stand for.
    #[test]
    fn the_json_is_the_protobuf_model_in_protojson() {
        let orders = meta("shop.orders", InstrumentKind::Counter, ValueKind::U64, "shop");
        let queue = meta("shop.queue", InstrumentKind::UpDownCounter, ValueKind::I64, "shop");
        let temperature = meta("shop.temperature", InstrumentKind::Gauge, ValueKind::F64, "shop");
        let latency = meta("lib.latency", InstrumentKind::Histogram, ValueKind::F64, "lib");
        let threads = meta("lib.threads", InstrumentKind::ObservableGauge, ValueKind::I64, "lib");
        let (trace, span, root) = (
            TraceId::from_int(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c).unwrap(),
            SpanId::from_int(0xb7ad_6b71_6920_3331).unwrap(),
            SpanId::from_int(0x00f0_6b71_6920_0001).unwrap(),
        );
        let mut checkout = point(
            0,
            vec![(&ROUTE, TagValue::from("/check\"out")), (&SIZE, TagValue::I64(-3))],
            PointValue::Sum(Number::U64(7)),
        );
        checkout.exemplars.push(Exemplar {
            time_unix_nanos: 4_000,
            value: Number::U64(1),
            span: Some((trace, span)),
            profile: Some(root),
        });
        let mut slow = point(
            3,
            vec![(&ROUTE, TagValue::from("/"))],
            PointValue::Histogram(HistogramPoint {
                bounds: &[0.5, 1.0],
                counts: vec![1, 0, 2],
                count: 3,
                sum: 4.5,
                min: 0.25,
                max: 2.25,
            }),
        );
        slow.exemplars.push(Exemplar { time_unix_nanos: 4_500, value: Number::F64(2.25), span: None, profile: None });
        let snapshot = Snapshot {
            start_unix_nanos: 1_000,
            time_unix_nanos: 5_000,
            metrics: vec![
                metric(
                    orders,
                    Temporality::Cumulative,
                    vec![
                        checkout,
                        point(1, vec![(&OVERFLOW, TagValue::Bool(true))], PointValue::Sum(Number::U64(u64::MAX))),
                    ],
                ),
                metric(
                    latency,
                    Temporality::Delta,
                    vec![
                        slow,
                        point(
                            4,
                            vec![],
                            PointValue::Histogram(HistogramPoint {
                                bounds: &[0.5, 1.0],
                                counts: vec![1, 0, 0],
                                count: 1,
                                sum: -1.0,
                                min: -1.0,
                                max: -1.0,
                            }),
                        ),
                        point(
                            5,
                            vec![],
                            PointValue::Histogram(HistogramPoint {
                                bounds: &[0.5, 1.0],
                                counts: vec![0, 0, 0],
                                count: 0,
                                sum: 0.0,
                                min: f64::INFINITY,
                                max: f64::NEG_INFINITY,
                            }),
                        ),
                    ],
                ),
                metric(queue, Temporality::Cumulative, vec![point(2, vec![], PointValue::Sum(Number::I64(-4)))]),
                metric(
                    temperature,
                    Temporality::Cumulative,
                    vec![point(6, vec![], PointValue::Gauge(Number::F64(21.5)))],
                ),
                metric(threads, Temporality::Cumulative, vec![point(7, vec![], PointValue::Gauge(Number::I64(12)))]),
            ],
        };
        let decoded = decode(&snapshot);
        use number_data_point::Value::{AsDouble, AsInt};
        let histogram =
            |attributes, count, sum, bucket_counts: Vec<u64>, min, max, exemplars| otlp::HistogramDataPoint {
                attributes,
                start_time_unix_nano: 1_000,
                time_unix_nano: 5_000,
                count,
                sum,
                bucket_counts,
                explicit_bounds: vec![0.5, 1.0],
                exemplars,
                min,
                max,
                ..Default::default()
            };
        let shop = otlp::ScopeMetrics {
            scope: Some(InstrumentationScope { name: "shop".into(), version: "0.1.0".into(), ..Default::default() }),
            metrics: vec![
                otlp::Metric {
                    name: "shop.orders".into(),
                    description: "Orders \"placed\".".into(),
                    data: Some(Data::Sum(otlp::Sum {
                        data_points: vec![
                            otlp::NumberDataPoint {
                                exemplars: vec![otlp::Exemplar {
                                    filtered_attributes: vec![string("pyroscope.profile.id", "00f06b7169200001")],
                                    time_unix_nano: 4_000,
                                    span_id: span.to_int().to_be_bytes().to_vec(),
                                    trace_id: trace.to_int().to_be_bytes().to_vec(),
                                    value: Some(exemplar::Value::AsInt(1)),
                                }],
                                ..number(
                                    vec![string("http.route", "/check\"out"), int("app.size", -3)],
                                    1_000,
                                    AsInt(7),
                                )
                            },
                            number(
                                vec![key_value("otel.metric.overflow", any_value::Value::BoolValue(true))],
                                1_000,
                                AsInt(i64::MAX),
                            ),
                        ],
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                },
                otlp::Metric {
                    name: "shop.queue".into(),
                    data: Some(Data::Sum(otlp::Sum {
                        data_points: vec![number(vec![], 1_000, AsInt(-4))],
                        aggregation_temporality: 2,
                        is_monotonic: false,
                    })),
                    ..Default::default()
                },
                otlp::Metric {
                    name: "shop.temperature".into(),
                    data: Some(Data::Gauge(otlp::Gauge { data_points: vec![number(vec![], 0, AsDouble(21.5))] })),
                    ..Default::default()
                },
            ],
            schema_url: String::new(),
        };
        let lib = otlp::ScopeMetrics {
            scope: Some(InstrumentationScope { name: "lib".into(), ..Default::default() }),
            metrics: vec![
                otlp::Metric {
                    name: "lib.latency".into(),
                    unit: "s".into(),
                    data: Some(Data::Histogram(otlp::Histogram {
                        data_points: vec![
                            histogram(
                                vec![string("http.route", "/")],
                                3,
                                Some(4.5),
                                vec![1, 0, 2],
                                // A delta point: its extremes would be the run's.
                                None,
                                None,
                                vec![otlp::Exemplar {
                                    time_unix_nano: 4_500,
                                    value: Some(exemplar::Value::AsDouble(2.25)),
                                    ..Default::default()
                                }],
                            ),
                            histogram(vec![], 1, None, vec![1, 0, 0], None, None, vec![]),
                            histogram(vec![], 0, Some(0.0), vec![0, 0, 0], None, None, vec![]),
                        ],
                        aggregation_temporality: 1,
                    })),
                    ..Default::default()
                },
                otlp::Metric {
                    name: "lib.threads".into(),
                    data: Some(Data::Gauge(otlp::Gauge { data_points: vec![number(vec![], 0, AsInt(12))] })),
                    ..Default::default()
                },
            ],
            schema_url: String::new(),
        };
        let [resource_metrics] = &decoded.resource_metrics[..] else { panic!("{decoded:?}") };
        let attributes = &resource_metrics.resource.as_ref().unwrap().attributes;
        assert_eq!(attributes[0], string("service.name", "shop"));
        assert_eq!(resource_metrics.scope_metrics, vec![shop, lib]);
    }

    #[test]
    fn int64_values_are_strings_and_doubles_numbers_or_their_names() {
        let gauge = meta("g", InstrumentKind::Gauge, ValueKind::F64, "s");
        let counter = meta("c", InstrumentKind::Counter, ValueKind::U64, "s");
        let snapshot = Snapshot {
            start_unix_nanos: 1,
            time_unix_nanos: 2,
            metrics: vec![
                metric(counter, Temporality::Cumulative, vec![point(0, vec![], PointValue::Sum(Number::U64(42)))]),
                metric(
                    gauge,
                    Temporality::Cumulative,
                    vec![
                        point(1, vec![], PointValue::Gauge(Number::F64(f64::NAN))),
                        point(2, vec![], PointValue::Gauge(Number::F64(f64::NEG_INFINITY))),
                    ],
                ),
            ],
        };
        let mut json = Vec::new();
        encode(&snapshot, &resource(), &mut json);
        let text = String::from_utf8(json).unwrap();
        assert!(text.contains(r#""startTimeUnixNano":"1000","timeUnixNano":"2","asInt":"42""#), "{text}");
        assert!(text.contains(r#""asDouble":"NaN""#) && text.contains(r#""asDouble":"-Infinity""#), "{text}");
        assert!(!text.contains('\n'), "one line");
        decode(&snapshot);
    }

    #[test]
    fn an_empty_snapshot_is_a_request_with_the_resource_only() {
        let snapshot = Snapshot { start_unix_nanos: 1, time_unix_nanos: 2, metrics: Vec::new() };
        let decoded = decode(&snapshot);
        assert!(decoded.resource_metrics[0].scope_metrics.is_empty());
    }

    #[test]
    fn a_delta_histogram_carries_no_min_or_max() {
        let latency = meta("l", InstrumentKind::Histogram, ValueKind::F64, "s");
        let histogram = |temporality| Snapshot {
            start_unix_nanos: 1,
            time_unix_nanos: 2,
            metrics: vec![metric(
                latency,
                temporality,
                vec![point(
                    0,
                    vec![],
                    PointValue::Histogram(HistogramPoint {
                        bounds: &[1.0],
                        counts: vec![1, 1],
                        count: 2,
                        sum: 3.5,
                        min: 0.5,
                        max: 3.0,
                    }),
                )],
            )],
        };
        let text = |temporality| {
            let mut json = Vec::new();
            encode(&histogram(temporality), &resource(), &mut json);
            String::from_utf8(json).unwrap()
        };
        assert!(text(Temporality::Cumulative).contains(r#""min":0.5,"max":3.0"#), "{}", text(Temporality::Cumulative));
        let delta = text(Temporality::Delta);
        assert!(!delta.contains(r#""min""#) && !delta.contains(r#""max""#), "{delta}");
        decode(&histogram(Temporality::Delta));
    }
}
