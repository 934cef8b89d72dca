//! The SkyWalking meter exporter (`OTEL_METRICS_EXPORTER=skywalking`): each collection is one
//! client stream of `MeterData` to the OAP's `skywalking.v3.MeterReportService/collect`, with the
//! trace exporter's OAP settings (`SW_AGENT_COLLECTOR_BACKEND_SERVICES`,
//! `SW_AGENT_AUTHENTICATION`, TLS, `SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT`), mapped as the
//! OAP's meter receiver reads it:
//!
//! - the first message carries the service, the instance and the collection's time in ms (the
//!   OAP drops a stream without them);
//! - names are the instrument's with every character outside `[A-Za-z0-9_]` made `_`, runs of
//!   `_` collapsed (`http.server.request.duration` → `http_server_request_duration`), as MAL
//!   identifiers must be, the same rule as Prometheus names without their unit suffixes; label
//!   names likewise (`http.route` → `http_route`); the OAP adds `service` and
//!   `instance` itself;
//! - counters, up-down counters and gauges are `MeterSingleValue`s of their cumulative values
//!   (MAL's `increase` and `rate` make rates of them, as they do of the Java agent's counters);
//! - histograms are `MeterHistogram`s whose buckets are keyed by their **lower** bound, with
//!   per-bucket counts: OpenTelemetry's bucket `(b[i-1], b[i]]` becomes `{bucket: b[i-1]}`; the
//!   first, `(-∞, b[0]]`, is `{bucket: 0}` when the instrument records no negative values
//!   (`u64`, durations) and its first bound is above 0, else `{isNegativeInfinity: true}`. Each
//!   histogram also sends `<name>_count` and `<name>_sum` single values, so rules can count
//!   requests without the buckets;
//! - histograms in seconds (unit `s`) are sent in milliseconds, bounds and sum: the meter
//!   receiver's `histogram()` reads bounds as whole milliseconds, and 0.005 s would become 0.
//!   Other instruments keep their unit.
//!
//! Exemplars are not sent: the protocol has no place for them. `docs/skywalking/spanscope.yaml`
//! holds the OAP rules that turn the automatic meters into SkyWalking metrics.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;

use crate::export::metrics::prometheus::names;
use crate::export::resource::Resource;
use crate::export::traces::skywalking::{OapClient, SkywalkingSettings};
use crate::export::{ExportError, Exporter, Sent};
use crate::metrics::snapshot::{Attributes, HistogramPoint, Metric, PointValue, Snapshot};
use crate::metrics::ValueKind;
use crate::proto::skywalking::{meter_data, Label, MeterBucketValue, MeterData, MeterHistogram, MeterSingleValue};

const COLLECT_PATH: &str = "/skywalking.v3.MeterReportService/collect";

/// Sends collections to a SkyWalking OAP as meters.
#[derive(Debug)]
pub(crate) struct SkywalkingMeterExporter {
    resource: Arc<Resource>,
    oap: OapClient,
}

impl SkywalkingMeterExporter {
    /// Connects lazily; each send is bounded by the shorter of the OAP's upstream timeout and
    /// `OTEL_METRIC_EXPORT_TIMEOUT` (`export_timeout`).
    pub(crate) fn new(settings: SkywalkingSettings, resource: Arc<Resource>, export_timeout: Duration) -> Self {
        Self { resource, oap: OapClient::new(&settings, "meters", settings.timeout.min(export_timeout)) }
    }
}

impl Exporter for SkywalkingMeterExporter {
    type Load = Snapshot;
    /// One encoded `MeterData` per message of the stream; empty when there is nothing to send.
    type Payload = Vec<Bytes>;

    fn name(&self) -> &str {
        &self.oap.name
    }

    fn timeout(&self) -> Duration {
        self.oap.timeout
    }

    fn encode(&mut self, snapshot: &Snapshot) -> Vec<Bytes> {
        meter_data(snapshot, &self.resource).iter().map(|data| data.encode_to_vec().into()).collect()
    }

    async fn send(&mut self, messages: &Vec<Bytes>) -> Result<Sent, ExportError> {
        self.oap.client_stream(COLLECT_PATH, messages).await?;
        Ok(Sent::default())
    }
}

/// A collection as the stream's messages, the first naming the service, instance and time.
pub(crate) fn meter_data(snapshot: &Snapshot, resource: &Resource) -> Vec<MeterData> {
    let mut messages: Vec<MeterData> = snapshot
        .metrics
        .iter()
        .flat_map(meters)
        .map(|metric| MeterData { metric: Some(metric), ..MeterData::default() })
        .collect();
    if let Some(first) = messages.first_mut() {
        first.service.clone_from(&resource.service);
        first.service_instance.clone_from(&resource.instance);
        first.timestamp = i64::try_from(snapshot.time_unix_nanos / 1_000_000).unwrap_or(i64::MAX);
    }
    messages
}

/// A meter name: the instrument's name with every character outside `[A-Za-z0-9_]` made `_`
/// (runs collapsed).
pub(crate) fn meter_name(instrument: &str) -> String {
    names::sanitize(instrument, false)
}

/// An instrument's meters: one single value per series, or a histogram and its `_count` and
/// `_sum` single values.
fn meters(metric: &Metric) -> Vec<meter_data::Metric> {
    let name = meter_name(metric.meta.name);
    let single = |name: &str, labels: Vec<Label>, value: f64| {
        meter_data::Metric::SingleValue(MeterSingleValue { name: name.to_owned(), labels, value })
    };
    let mut out = Vec::new();
    for point in &metric.points {
        let labels = labels(&point.attributes);
        match &point.value {
            PointValue::Sum(number) | PointValue::Gauge(number) => out.push(single(&name, labels, number.as_f64())),
            PointValue::Histogram(histogram) => {
                // Whole milliseconds are what the OAP keeps of a bound: seconds would truncate.
                let scale = if metric.meta.unit == "s" { 1000.0 } else { 1.0 };
                let non_negative = metric.meta.value == ValueKind::U64 || is_duration(metric.meta.unit);
                out.push(single(&format!("{name}_count"), labels.clone(), histogram.count as f64));
                out.push(single(&format!("{name}_sum"), labels.clone(), histogram.sum * scale));
                let values = buckets(histogram, scale, non_negative);
                out.push(meter_data::Metric::Histogram(MeterHistogram { name: name.clone(), labels, values }));
            }
        }
    }
    out
}

/// Whether `unit` is a UCUM unit of time (durations are never negative).
fn is_duration(unit: &str) -> bool {
    matches!(unit, "d" | "h" | "min" | "s" | "ms" | "us" | "ns")
}

/// OpenTelemetry's upper-bound buckets as SkyWalking's lower-bound ones, bounds times `scale`.
fn buckets(histogram: &HistogramPoint, scale: f64, non_negative: bool) -> Vec<MeterBucketValue> {
    let first = match histogram.bounds.first() {
        Some(&bound) if non_negative && bound > 0.0 => {
            MeterBucketValue { bucket: 0.0, count: 0, is_negative_infinity: false }
        }
        _ => MeterBucketValue { bucket: 0.0, count: 0, is_negative_infinity: true },
    };
    let lower_bounds = histogram.bounds.iter().map(|&bound| MeterBucketValue {
        bucket: bound * scale,
        count: 0,
        is_negative_infinity: false,
    });
    std::iter::once(first)
        .chain(lower_bounds)
        .zip(&histogram.counts)
        .map(|(bucket, &count)| MeterBucketValue { count: i64::try_from(count).unwrap_or(i64::MAX), ..bucket })
        .collect()
}

/// A series' attributes as labels, names made MAL identifiers.
fn labels(attributes: &Attributes) -> Vec<Label> {
    attributes
        .iter()
        .map(|(key, value)| Label { name: names::label_name(key.wire_name()), value: value.to_string() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::metrics::snapshot::{Number, Point, Temporality};
    use crate::metrics::{InstrumentKind, InstrumentMeta};
    use crate::tag::{TagMeta, TagValue};

    static ROUTE: TagMeta = TagMeta::new("http_route", "http.route");

    fn meta(name: &'static str, unit: &'static str, kind: InstrumentKind, value: ValueKind) -> &'static InstrumentMeta {
        Box::leak(Box::new(InstrumentMeta {
            name,
            unit,
            description: "",
            kind,
            value,
            scope: ("test", "0"),
            buckets: &[],
        }))
    }

    fn metric(meta: &'static InstrumentMeta, value: PointValue) -> Metric {
        let attributes: Attributes = Arc::from(vec![(&ROUTE, TagValue::Str("/cart".into()))]);
        Metric {
            meta,
            temporality: Temporality::Cumulative,
            start_unix_nanos: 0,
            points: vec![Point { series: 0, attributes, value, exemplars: Vec::new() }],
        }
    }

    fn histogram(bounds: &'static [f64], counts: Vec<u64>, sum: f64) -> PointValue {
        let count = counts.iter().sum();
        PointValue::Histogram(HistogramPoint { bounds, counts, count, sum, min: 0.0, max: 0.0 })
    }

    fn resource() -> Resource {
        Resource {
            attributes: Vec::new(),
            service: "checkout".into(),
            instance: "checkout-1".into(),
            hostname: "host".into(),
        }
    }

    /// (lower bound, or None for −∞; count) of each bucket.
    fn shape(values: &[MeterBucketValue]) -> Vec<(Option<f64>, i64)> {
        values.iter().map(|v| ((!v.is_negative_infinity).then_some(v.bucket), v.count)).collect()
    }

    fn histogram_of(messages: &[MeterData]) -> &MeterHistogram {
        messages
            .iter()
            .find_map(|m| match &m.metric {
                Some(meter_data::Metric::Histogram(h)) => Some(h),
                _ => None,
            })
            .expect("a histogram")
    }

    #[test]
    fn the_first_message_names_the_service_instance_and_time_in_ms() {
        let orders = meta("shop.orders", "{order}", InstrumentKind::Counter, ValueKind::U64);
        let snapshot = Snapshot {
            start_unix_nanos: 0,
            time_unix_nanos: 1_717_000_000_123_456_789,
            metrics: vec![
                metric(orders, PointValue::Sum(Number::U64(7))),
                metric(orders, PointValue::Sum(Number::U64(2))),
            ],
        };
        let messages = meter_data(&snapshot, &resource());
        assert_eq!(messages.len(), 2);
        let first = &messages[0];
        assert_eq!(
            (first.service.as_str(), first.service_instance.as_str(), first.timestamp),
            ("checkout", "checkout-1", 1_717_000_000_123)
        );
        assert_eq!((messages[1].service.as_str(), messages[1].timestamp), ("", 0), "the protocol: first only");
        let Some(meter_data::Metric::SingleValue(value)) = &first.metric else { panic!("{first:?}") };
        assert_eq!((value.name.as_str(), value.value), ("shop_orders", 7.0));
        assert_eq!(value.labels, [Label { name: "http_route".into(), value: "/cart".into() }]);
        let empty = Snapshot { start_unix_nanos: 0, time_unix_nanos: 1, metrics: Vec::new() };
        assert!(meter_data(&empty, &resource()).is_empty(), "no stream for an empty collection");
    }

    #[test]
    fn buckets_are_keyed_by_lower_bound_and_seconds_become_milliseconds() {
        let duration = meta("http.server.request.duration", "s", InstrumentKind::Histogram, ValueKind::F64);
        let snapshot = Snapshot {
            start_unix_nanos: 0,
            time_unix_nanos: 1,
            metrics: vec![metric(duration, histogram(&[0.005, 0.1], vec![1, 2, 3], 9.5))],
        };
        let messages = meter_data(&snapshot, &resource());
        let names: Vec<_> = messages
            .iter()
            .map(|m| match &m.metric {
                Some(meter_data::Metric::SingleValue(v)) => (v.name.clone(), v.value),
                Some(meter_data::Metric::Histogram(h)) => (h.name.clone(), f64::NAN),
                None => panic!("empty"),
            })
            .collect();
        assert_eq!(names[0], ("http_server_request_duration_count".to_owned(), 6.0));
        assert_eq!(names[1], ("http_server_request_duration_sum".to_owned(), 9500.0));
        let histogram = histogram_of(&messages);
        assert_eq!(histogram.name, "http_server_request_duration");
        assert_eq!(shape(&histogram.values), [(Some(0.0), 1), (Some(5.0), 2), (Some(100.0), 3)]);
    }

    #[test]
    fn instruments_that_may_record_negative_values_start_at_negative_infinity() {
        for (value, bounds, unit, expected) in [
            (ValueKind::F64, &[-1.0, 1.0][..], "", [(None, 1), (Some(-1.0), 2), (Some(1.0), 3)]),
            (ValueKind::F64, &[10.0, 20.0][..], "By", [(None, 1), (Some(10.0), 2), (Some(20.0), 3)]),
            // A `u64` histogram whose first bound is 0: its first bucket holds the zeros alone.
            (ValueKind::U64, &[0.0, 5.0][..], "", [(None, 1), (Some(0.0), 2), (Some(5.0), 3)]),
            (ValueKind::U64, &[1.0, 5.0][..], "{item}", [(Some(0.0), 1), (Some(1.0), 2), (Some(5.0), 3)]),
            (ValueKind::F64, &[1.0, 5.0][..], "ms", [(Some(0.0), 1), (Some(1.0), 2), (Some(5.0), 3)]),
        ] {
            let sizes = meta("shop.sizes", unit, InstrumentKind::Histogram, value);
            let bounds: &'static [f64] = Box::leak(bounds.to_vec().into_boxed_slice());
            let snapshot = Snapshot {
                start_unix_nanos: 0,
                time_unix_nanos: 1,
                metrics: vec![metric(sizes, histogram(bounds, vec![1, 2, 3], 1.0))],
            };
            let messages = meter_data(&snapshot, &resource());
            assert_eq!(shape(&histogram_of(&messages).values), expected, "{value:?} {bounds:?} {unit}");
        }
    }

    #[test]
    fn meter_names_are_identifiers() {
        assert_eq!(meter_name("process.unix.file_descriptor.count"), "process_unix_file_descriptor_count");
        assert_eq!(meter_name("shop.price-duration"), "shop_price_duration");
        assert_eq!(meter_name("shop..price"), "shop_price");
    }
}
