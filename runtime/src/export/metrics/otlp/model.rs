//! The mapping from a [`Snapshot`] to `opentelemetry-proto`'s `ExportMetricsServiceRequest`.
//!
//! One request per snapshot: one `ResourceMetrics` (the resource the traces carry), one
//! `ScopeMetrics` per instrumentation scope, in the order instruments of each first appear.
//! Counters and up-down counters are `Sum`s (monotonic or not) with their metric's temporality,
//! gauges `Gauge`s, histograms `Histogram`s with explicit bounds. A histogram's sum is left out
//! once a negative value was recorded (OTLP's sum is meant for non-negative recordings), its
//! min and max while nothing was and on delta points (see
//! [`temporality`](crate::export::metrics::temporality)). Integer values are `as_int`, a `u64`
//! above `i64::MAX` clamped; `f64` values are `as_double`. Exemplars carry the span they were
//! recorded in and, when it was profiled, `pyroscope.profile.id`: the local root span's id,
//! as the traces label it.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric, number_data_point, AggregationTemporality, Exemplar as ProtoExemplar, Gauge,
    Histogram as ProtoHistogram, HistogramDataPoint, Metric as ProtoMetric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;

use crate::export::traces::otlp::model::{key_value, Value};
use crate::metrics::snapshot::{
    Attributes, Exemplar, HistogramPoint, Metric, Number, Point, PointValue, Snapshot, Temporality,
};
use crate::metrics::InstrumentKind;

/// The request carrying `snapshot` for `resource`.
pub(crate) fn request(resource: ProtoResource, snapshot: &Snapshot) -> ExportMetricsServiceRequest {
    let mut scopes: Vec<ScopeMetrics> = Vec::new();
    for metric in &snapshot.metrics {
        let (name, version) = metric.meta.scope;
        let at = match scopes.iter().position(|s| s.scope.as_ref().is_some_and(|s| s.name == name)) {
            Some(at) => at,
            None => {
                scopes.push(ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: name.to_owned(),
                        version: version.to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    metrics: Vec::new(),
                    schema_url: String::new(),
                });
                scopes.len() - 1
            }
        };
        scopes[at].metrics.push(self::metric(metric, snapshot.time_unix_nanos));
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource),
            scope_metrics: scopes,
            schema_url: String::new(),
        }],
    }
}

fn metric(metric: &Metric, time: u64) -> ProtoMetric {
    let meta = metric.meta;
    let temporality = match metric.temporality {
        Temporality::Cumulative => AggregationTemporality::Cumulative,
        Temporality::Delta => AggregationTemporality::Delta,
    } as i32;
    let start = metric.start_unix_nanos;
    let numbers = || {
        metric.points.iter().filter_map(|point| match point.value {
            PointValue::Sum(number) | PointValue::Gauge(number) => Some((point, number)),
            PointValue::Histogram(_) => None,
        })
    };
    let data = match meta.kind {
        kind if kind.is_sum() => metric::Data::Sum(Sum {
            data_points: numbers().map(|(point, number)| number_point(point, number, start, time)).collect(),
            aggregation_temporality: temporality,
            is_monotonic: kind.is_monotonic(),
        }),
        InstrumentKind::Histogram => {
            let delta = metric.temporality == Temporality::Delta;
            let histograms = metric.points.iter().filter_map(|point| match &point.value {
                PointValue::Histogram(histogram) => Some(histogram_point(point, histogram, start, time, delta)),
                PointValue::Sum(_) | PointValue::Gauge(_) => None,
            });
            metric::Data::Histogram(ProtoHistogram {
                data_points: histograms.collect(),
                aggregation_temporality: temporality,
            })
        }
        // A gauge is a value at an instant: no window start.
        _ => metric::Data::Gauge(Gauge {
            data_points: numbers().map(|(point, number)| number_point(point, number, 0, time)).collect(),
        }),
    };
    ProtoMetric {
        name: meta.name.to_owned(),
        description: meta.description.to_owned(),
        unit: meta.unit.to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

fn number_point(point: &Point, number: Number, start: u64, time: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(&point.attributes),
        start_time_unix_nano: start,
        time_unix_nano: time,
        exemplars: point.exemplars.iter().map(exemplar).collect(),
        flags: 0,
        value: Some(match number {
            Number::U64(v) => number_data_point::Value::AsInt(clamp(v)),
            Number::I64(v) => number_data_point::Value::AsInt(v),
            Number::F64(v) => number_data_point::Value::AsDouble(v),
        }),
    }
}

fn histogram_point(
    point: &Point,
    histogram: &HistogramPoint,
    start: u64,
    time: u64,
    delta: bool,
) -> HistogramDataPoint {
    let recorded = histogram.count > 0;
    let extremes = recorded && !delta;
    HistogramDataPoint {
        attributes: attributes(&point.attributes),
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: histogram.count,
        sum: (!(recorded && histogram.min < 0.0)).then_some(histogram.sum),
        bucket_counts: histogram.counts.clone(),
        explicit_bounds: histogram.bounds.to_vec(),
        exemplars: point.exemplars.iter().map(exemplar).collect(),
        flags: 0,
        min: extremes.then_some(histogram.min),
        max: extremes.then_some(histogram.max),
    }
}

fn exemplar(exemplar: &Exemplar) -> ProtoExemplar {
    let (trace_id, span_id) = match exemplar.span {
        Some((trace, span)) => (trace.to_int().to_be_bytes().to_vec(), span.to_int().to_be_bytes().to_vec()),
        None => (Vec::new(), Vec::new()),
    };
    ProtoExemplar {
        // Grafana's exemplar-to-profile link, as the traces' local root spans carry it.
        filtered_attributes: exemplar
            .profile
            .map(|root| key_value("pyroscope.profile.id", Value::Id(root)))
            .into_iter()
            .collect(),
        time_unix_nano: exemplar.time_unix_nanos,
        span_id,
        trace_id,
        value: Some(match exemplar.value {
            Number::U64(v) => exemplar::Value::AsInt(clamp(v)),
            Number::I64(v) => exemplar::Value::AsInt(v),
            Number::F64(v) => exemplar::Value::AsDouble(v),
        }),
    }
}

fn attributes(attributes: &Attributes) -> Vec<KeyValue> {
    attributes.iter().map(|(meta, value)| key_value(meta.wire_name(), value.into())).collect()
}

/// A `u64` as OTLP's signed integer: above `i64::MAX`, clamped.
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::any_value;

    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::metrics::{InstrumentMeta, ValueKind};
    use crate::tag::{TagMeta, TagValue};

    const fn meta(name: &'static str, kind: InstrumentKind, value: ValueKind, scope: &'static str) -> InstrumentMeta {
        InstrumentMeta {
            name,
            unit: "{x}",
            description: "Some.",
            kind,
            value,
            scope: (scope, "1.2.3"),
            buckets: &[0.0, 10.0],
        }
    }

    static ORDERS: InstrumentMeta = meta("shop.orders", InstrumentKind::Counter, ValueKind::U64, "shop");
    static QUEUE: InstrumentMeta = meta("shop.queue", InstrumentKind::UpDownCounter, ValueKind::I64, "shop");
    static TEMPERATURE: InstrumentMeta =
        meta("lib.temperature", InstrumentKind::ObservableGauge, ValueKind::F64, "lib");
    static LATENCY: InstrumentMeta = meta("shop.latency", InstrumentKind::Histogram, ValueKind::F64, "shop");
    static ROUTE: TagMeta = TagMeta::new("route", "http.route");

    fn point(value: PointValue, exemplars: Vec<Exemplar>) -> Point {
        let attributes: Attributes = vec![(&ROUTE, TagValue::Str("/checkout".into()))].into();
        Point { series: 0, attributes, value, exemplars }
    }

    fn histogram(min: f64) -> PointValue {
        PointValue::Histogram(HistogramPoint {
            bounds: LATENCY.buckets,
            counts: vec![1, 0, 2],
            count: 3,
            sum: 25.0,
            min,
            max: 12.0,
        })
    }

    fn snapshot(histogram_temporality: Temporality, min: f64) -> Snapshot {
        let trace = TraceId::from_int(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c).unwrap();
        let span = SpanId::from_int(0xb7ad_6b71_6920_3331).unwrap();
        let exemplar = |value, profile| Exemplar { time_unix_nanos: 150, value, span: Some((trace, span)), profile };
        let metric = |meta, temporality, points| Metric { meta, temporality, start_unix_nanos: 100, points };
        Snapshot {
            start_unix_nanos: 100,
            time_unix_nanos: 200,
            metrics: vec![
                metric(
                    &ORDERS,
                    Temporality::Cumulative,
                    vec![point(PointValue::Sum(Number::U64(u64::MAX)), vec![exemplar(Number::U64(1), Some(span))])],
                ),
                metric(
                    &TEMPERATURE,
                    Temporality::Cumulative,
                    vec![point(PointValue::Gauge(Number::F64(21.5)), vec![])],
                ),
                metric(&QUEUE, Temporality::Cumulative, vec![point(PointValue::Sum(Number::I64(-4)), vec![])]),
                metric(
                    &LATENCY,
                    histogram_temporality,
                    vec![point(histogram(min), vec![Exemplar { span: None, ..exemplar(Number::F64(12.0), None) }])],
                ),
            ],
        }
    }

    fn metrics(request: &ExportMetricsServiceRequest) -> Vec<(&str, &ProtoMetric)> {
        let scopes = request.resource_metrics[0].scope_metrics.iter();
        scopes.flat_map(|s| s.metrics.iter().map(move |m| (&*s.scope.as_ref().unwrap().name, m))).collect()
    }

    #[test]
    fn one_scope_per_instrumentation_scope_in_order_of_appearance() {
        let request = request(ProtoResource::default(), &snapshot(Temporality::Cumulative, 0.5));
        let names: Vec<(&str, &str)> = metrics(&request).iter().map(|(scope, m)| (*scope, &*m.name)).collect();
        assert_eq!(
            names,
            [("shop", "shop.orders"), ("shop", "shop.queue"), ("shop", "shop.latency"), ("lib", "lib.temperature")]
        );
        let scope = request.resource_metrics[0].scope_metrics[0].scope.as_ref().unwrap();
        assert_eq!((&*scope.name, &*scope.version), ("shop", "1.2.3"));
        let (_, orders) = metrics(&request)[0];
        assert_eq!((&*orders.unit, &*orders.description), ("{x}", "Some."));
    }

    #[test]
    fn sums_and_gauges_carry_their_kind_temporality_and_value_type() {
        let request = request(ProtoResource::default(), &snapshot(Temporality::Cumulative, 0.5));
        let all = metrics(&request);
        let Some(metric::Data::Sum(orders)) = &all[0].1.data else { panic!("{:?}", all[0]) };
        assert!(orders.is_monotonic);
        assert_eq!(orders.aggregation_temporality, AggregationTemporality::Cumulative as i32);
        let point = &orders.data_points[0];
        assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (100, 200));
        assert_eq!(point.value, Some(number_data_point::Value::AsInt(i64::MAX)), "clamped");
        let attribute = &point.attributes[0];
        assert_eq!(attribute.key, "http.route");
        assert_eq!(
            attribute.value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("/checkout".to_owned()))
        );
        let exemplar = &point.exemplars[0];
        assert_eq!(exemplar.trace_id, 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128.to_be_bytes());
        assert_eq!(exemplar.span_id, 0xb7ad_6b71_6920_3331_u64.to_be_bytes());
        assert_eq!((exemplar.time_unix_nano, exemplar.value), (150, Some(exemplar::Value::AsInt(1))));
        let profile = &exemplar.filtered_attributes[0];
        assert_eq!(profile.key, "pyroscope.profile.id");
        assert_eq!(
            profile.value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("b7ad6b7169203331".to_owned()))
        );
        let Some(metric::Data::Sum(queue)) = &all[1].1.data else { panic!("{:?}", all[1]) };
        assert!(!queue.is_monotonic);
        assert_eq!(queue.data_points[0].value, Some(number_data_point::Value::AsInt(-4)));
        let Some(metric::Data::Gauge(temperature)) = &all[3].1.data else { panic!("{:?}", all[3]) };
        assert_eq!(temperature.data_points[0].value, Some(number_data_point::Value::AsDouble(21.5)));
        assert_eq!(temperature.data_points[0].start_time_unix_nano, 0);
    }

    #[test]
    fn histograms_leave_out_what_they_do_not_know() {
        let latency = |temporality, min| {
            let request = request(ProtoResource::default(), &snapshot(temporality, min));
            let Some(metric::Data::Histogram(histogram)) = &metrics(&request)[2].1.data else { panic!() };
            (histogram.aggregation_temporality, histogram.data_points[0].clone())
        };
        let (temporality, point) = latency(Temporality::Cumulative, 0.5);
        assert_eq!(temporality, AggregationTemporality::Cumulative as i32);
        assert_eq!((point.count, point.sum, point.min, point.max), (3, Some(25.0), Some(0.5), Some(12.0)));
        assert_eq!((&*point.bucket_counts, &*point.explicit_bounds), (&[1, 0, 2][..], &[0.0, 10.0][..]));
        let exemplar = &point.exemplars[0];
        assert!(exemplar.trace_id.is_empty() && exemplar.span_id.is_empty() && exemplar.filtered_attributes.is_empty());
        assert_eq!(exemplar.value, Some(exemplar::Value::AsDouble(12.0)));
        // A negative value was recorded: no sum.
        let (_, point) = latency(Temporality::Cumulative, -1.0);
        assert_eq!((point.sum, point.min), (None, Some(-1.0)));
        // Delta points: no extremes.
        let (temporality, point) = latency(Temporality::Delta, 0.5);
        assert_eq!(temporality, AggregationTemporality::Delta as i32);
        assert_eq!((point.count, point.sum, point.min, point.max), (3, Some(25.0), None, None));
    }
}
