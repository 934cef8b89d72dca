//! The OTLP metrics exporter against the in-process receiver: recorded values over gRPC,
//! HTTP/protobuf and HTTP/JSON, exemplars that name exported spans, delta and lowmemory
//! temporality, partial success, a receiver that is down (and one that comes back), and the
//! per-signal variables winning over the generic ones.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, HistogramDataPoint, Metric, NumberDataPoint};
use spanscope::{Signal, TracesExporter};
use spanscope_tests::collector::otlp::Collector;
use spanscope_tests::collector::{free_addr, serial, wait_until};
use spanscope_tests::fresh_dir;
use spanscope_tests::metrics::{assert_a_down_backend_loses_only_what_it_counts, metrics_exporter};

const PATIENCE: Duration = Duration::from_secs(60);
/// `AggregationTemporality`.
const DELTA: i32 = 1;
const CUMULATIVE: i32 = 2;

spanscope::tags! {
    /// The route being served.
    pub route: &'static str = "http.route",
}

spanscope::metrics! {
    /// Orders placed.
    pub orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route] },
    /// Orders being prepared.
    pub preparing: UpDownCounter<i64> = "shop.preparing" { unit: "{order}" },
    /// Time to price a basket.
    pub price: Histogram<f64> = "shop.price.duration" { unit: "s", buckets: [0.1, 1.0] },
    /// Bytes read so far.
    pub bytes_read: ObservableCounter<u64> = "shop.bytes.read" { unit: "By", callback: read_bytes },
}

/// What `bytes_read` observes.
static BYTES: AtomicU64 = AtomicU64::new(0);

fn read_bytes(observer: &mut bytes_read::Observer<'_>) {
    observer.record(BYTES.load(Ordering::Relaxed), bytes_read::Attributes {});
}

#[spanscope::local(name = "place order")]
fn place_order(route: &'static str, count: u64) {
    orders::add(count, orders::Attributes { route });
}

/// Starts spanscope with the OTLP metrics exporter (collections only at flush and shutdown),
/// the trace exporters `traces`, and `vars`.
fn init(traces: &[TracesExporter], vars: &[(&str, String)]) -> spanscope::Guard {
    let mut config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(fresh_dir("metrics-otlp"))
        .exporters(traces.iter().copied())
        .schedule_delay(Duration::from_millis(20))
        .var("OTEL_METRICS_EXPORTER", "otlp")
        .var("OTEL_METRIC_EXPORT_INTERVAL", "2147483647");
    for (name, value) in vars {
        config = config.var(*name, value.clone());
    }
    bytes_read::register();
    spanscope::try_init(config).expect("spanscope init")
}

/// The values `orders`, `preparing`, `price` and `bytes_read` get in [`check_recorded`].
fn record() {
    place_order("/checkout", 3);
    orders::add(1, orders::Attributes { route: "/cart" });
    preparing::add(5, preparing::Attributes {});
    preparing::add(-2, preparing::Attributes {});
    for value in [0.05, 0.5, 2.0] {
        price::record(value, price::Attributes {});
    }
    BYTES.store(4096, Ordering::Relaxed);
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    kvs.iter().filter_map(|kv| Some((kv.key.clone(), kv.value.as_ref()?.value.clone()?))).collect()
}

fn string(value: &str) -> Value {
    Value::StringValue(value.to_owned())
}

fn find<'a>(metrics: &[&'a Metric], name: &str) -> Option<&'a Metric> {
    metrics.iter().copied().find(|m| m.name == name)
}

/// A sum's (temporality, monotonic, points).
fn sum<'a>(metrics: &[&'a Metric], name: &str) -> (i32, bool, &'a [NumberDataPoint]) {
    match find(metrics, name).and_then(|m| m.data.as_ref()) {
        Some(metric::Data::Sum(sum)) => (sum.aggregation_temporality, sum.is_monotonic, &sum.data_points),
        other => panic!("{name} is not a sum: {other:?}"),
    }
}

fn histogram<'a>(metrics: &[&'a Metric], name: &str) -> (i32, &'a [HistogramDataPoint]) {
    match find(metrics, name).and_then(|m| m.data.as_ref()) {
        Some(metric::Data::Histogram(histogram)) => (histogram.aggregation_temporality, &histogram.data_points),
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

/// A metric's data points.
fn points(metric: &Metric) -> usize {
    match &metric.data {
        Some(metric::Data::Sum(sum)) => sum.data_points.len(),
        Some(metric::Data::Gauge(gauge)) => gauge.data_points.len(),
        Some(metric::Data::Histogram(histogram)) => histogram.data_points.len(),
        other => panic!("unexpected data: {other:?}"),
    }
}

fn int(point: &NumberDataPoint) -> i64 {
    match point.value {
        Some(number_data_point::Value::AsInt(value)) => value,
        other => panic!("not an integer: {other:?}"),
    }
}

/// `orders`' values by route.
fn orders_by_route(metrics: &[&Metric]) -> BTreeMap<String, i64> {
    let (_, _, points) = sum(metrics, "shop.orders");
    let route = |p: &NumberDataPoint| match attributes(&p.attributes).remove("http.route") {
        Some(Value::StringValue(route)) => route,
        other => panic!("route {other:?}"),
    };
    points.iter().map(|p| (route(p), int(p))).collect()
}

/// Flushes, then the metrics requests received.
fn flushed(collector: &Collector) -> Vec<ExportMetricsServiceRequest> {
    assert!(spanscope::flush(), "flush");
    collector.received.lock().unwrap().metrics.clone()
}

fn metrics_of(request: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).collect()
}

/// What [`record`] recorded, as one cumulative request carries it.
fn check_recorded(request: &ExportMetricsServiceRequest, protocol: &str) {
    let resource = attributes(&request.resource_metrics[0].resource.as_ref().unwrap().attributes);
    assert_eq!(resource["service.name"], string("checkout"), "{protocol}");
    let scopes = &request.resource_metrics[0].scope_metrics;
    let ours = scopes.iter().find(|s| s.metrics.iter().any(|m| m.name == "shop.orders")).unwrap();
    let scope = ours.scope.as_ref().unwrap();
    assert_eq!(scope.name, "spanscope-tests", "{protocol}: the declaring crate");
    assert_eq!(ours.metrics.len(), 4, "{protocol}: one scope holds the crate's instruments");
    let metrics = metrics_of(request);
    let orders = find(&metrics, "shop.orders").unwrap();
    assert_eq!((&*orders.unit, &*orders.description), ("{order}", "Orders placed."), "{protocol}");
    let (temporality, monotonic, _) = sum(&metrics, "shop.orders");
    assert_eq!((temporality, monotonic), (CUMULATIVE, true), "{protocol}");
    let expected = BTreeMap::from([("/cart".to_owned(), 1), ("/checkout".to_owned(), 3)]);
    assert_eq!(orders_by_route(&metrics), expected, "{protocol}");
    let (temporality, monotonic, points) = sum(&metrics, "shop.preparing");
    assert_eq!((temporality, monotonic, int(&points[0])), (CUMULATIVE, false, 3), "{protocol}");
    let (temporality, points) = histogram(&metrics, "shop.price.duration");
    let point = &points[0];
    assert_eq!(temporality, CUMULATIVE, "{protocol}");
    assert_eq!((point.count, &*point.bucket_counts, &*point.explicit_bounds), (3, &[1, 1, 1][..], &[0.1, 1.0][..]));
    assert_eq!((point.min, point.max), (Some(0.05), Some(2.0)), "{protocol}");
    assert!((point.sum.unwrap() - 2.55).abs() < 1e-9, "{protocol}: {point:?}");
    assert!(point.start_time_unix_nano > 0 && point.start_time_unix_nano < point.time_unix_nano, "{protocol}");
    let (_, _, points) = sum(&metrics, "shop.bytes.read");
    assert_eq!(int(&points[0]), 4096, "{protocol}");
}

#[test]
fn grpc_delivers_the_recorded_values_with_exemplars_naming_exported_spans() {
    let _serial = serial();
    let collector = Collector::grpc();
    let guard = init(
        &[TracesExporter::Otlp],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-tenant=acme".to_owned()),
        ],
    );
    record();
    let requests = flushed(&collector);
    drop(guard);
    assert_eq!(requests.len(), 1, "one request per collection");
    check_recorded(&requests[0], "grpc");
    let received = collector.received.lock().unwrap();
    assert_eq!(received.headers["x-tenant"], "acme");
    let spans: HashSet<(Vec<u8>, Vec<u8>)> =
        received.spans().filter(|s| s.name == "place order").map(|s| (s.trace_id.clone(), s.span_id.clone())).collect();
    assert_eq!(spans.len(), 1, "the span the order was placed in was exported");
    let metrics = metrics_of(&requests[0]);
    let (_, _, points) = sum(&metrics, "shop.orders");
    let checkout = points.iter().find(|p| int(p) == 3).unwrap();
    let exemplar = &checkout.exemplars[0];
    assert_eq!(exemplar.value, Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsInt(3)));
    assert!(spans.contains(&(exemplar.trace_id.clone(), exemplar.span_id.clone())), "{exemplar:?}");
    let cart = points.iter().find(|p| int(p) == 1).unwrap();
    assert!(cart.exemplars.is_empty(), "recorded outside a span: {cart:?}");
}

#[test]
fn http_protobuf_gzip_and_http_json_post_the_recorded_values_to_v1_metrics() {
    let _serial = serial();
    for (protocol, json) in [("http/protobuf", 0), ("http/json", 1)] {
        let collector = Collector::http(http::StatusCode::OK);
        let guard = init(
            &[],
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
            ],
        );
        record();
        let requests = flushed(&collector);
        drop(guard);
        let received = collector.received.lock().unwrap();
        assert_eq!(received.paths[0], "/v1/metrics", "{protocol}");
        assert_eq!(received.headers["content-encoding"], "gzip", "{protocol}");
        assert_eq!(requests.len(), 1, "{protocol}");
        // The flush's request and the shutdown's, alike.
        assert_eq!(received.metrics_json, json * received.metrics.len(), "{protocol}");
        check_recorded(&requests[0], protocol);
    }
}

#[test]
fn delta_sends_what_changed_since_the_last_request_and_up_down_counters_stay_cumulative() {
    let _serial = serial();
    for (preference, observed_temporality, observed_second) in [("delta", DELTA, 50), ("LowMemory", CUMULATIVE, 4146)] {
        let collector = Collector::grpc();
        let guard = init(
            &[],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
                ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", preference.to_owned()),
            ],
        );
        record();
        let first = flushed(&collector);
        assert_eq!(first.len(), 1, "{preference}");
        let metrics = metrics_of(&first[0]);
        let (temporality, monotonic, points) = sum(&metrics, "shop.orders");
        assert_eq!((temporality, monotonic), (DELTA, true), "{preference}");
        let first_time = points[0].time_unix_nano;
        assert_eq!(orders_by_route(&metrics)["/checkout"], 3, "{preference}");
        let (temporality, points) = histogram(&metrics, "shop.price.duration");
        assert_eq!((temporality, points[0].count, points[0].min), (DELTA, 3, None), "{preference}");
        let (temporality, _, points) = sum(&metrics, "shop.bytes.read");
        assert_eq!((temporality, int(&points[0])), (observed_temporality, 4096), "{preference}");

        place_order("/checkout", 4);
        preparing::add(7, preparing::Attributes {});
        BYTES.store(4146, Ordering::Relaxed);
        let second = flushed(&collector);
        drop(guard);
        assert_eq!(second.len(), 2, "{preference}");
        let metrics = metrics_of(&second[1]);
        let (temporality, _, points) = sum(&metrics, "shop.orders");
        assert_eq!(temporality, DELTA, "{preference}");
        assert_eq!(points.len(), 1, "{preference}: the unchanged route is left out: {points:?}");
        assert_eq!(orders_by_route(&metrics), BTreeMap::from([("/checkout".to_owned(), 4)]), "{preference}");
        assert_eq!(points[0].start_time_unix_nano, first_time, "{preference}: the window starts at the last request");
        let (temporality, monotonic, points) = sum(&metrics, "shop.preparing");
        assert_eq!((temporality, monotonic, int(&points[0])), (CUMULATIVE, false, 10), "{preference}");
        assert!(find(&metrics, "shop.price.duration").is_none(), "{preference}: no new prices");
        let (temporality, _, points) = sum(&metrics, "shop.bytes.read");
        assert_eq!((temporality, int(&points[0])), (observed_temporality, observed_second), "{preference}");
    }
}

#[test]
fn a_partial_success_counts_the_rejected_points() {
    let _serial = serial();
    let before = spanscope::stats();
    let collector = Collector::grpc();
    collector.received.lock().unwrap().reject_points = 2;
    let guard = init(&[], &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())]);
    record();
    let requests = flushed(&collector);
    assert_eq!(requests.len(), 1);
    let points: usize = metrics_of(&requests[0]).iter().map(|m| points(m)).sum();
    let after = spanscope::stats();
    let exporter = after.exporters.iter().find(|e| e.signal == Signal::Metrics).unwrap();
    assert_eq!(exporter.dropped_rejected, 2, "{exporter:?}");
    assert_eq!(after.metric_points_dropped_rejected - before.metric_points_dropped_rejected, 2);
    assert!(points >= 5, "orders (2 routes), preparing, price, bytes_read at least");
    assert_eq!(exporter.exported, points as u64 - 2, "{exporter:?}");
    drop(guard);
}

#[test]
fn a_receiver_that_is_down_costs_the_recording_nothing_and_its_points_are_counted() {
    let _serial = serial();
    let before = spanscope::stats();
    let addr = free_addr();
    let guard = init(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "500".to_owned()),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "2000".to_owned()),
        ],
    );
    record();
    assert_a_down_backend_loses_only_what_it_counts(
        guard,
        &before,
        || orders::add(1, orders::Attributes { route: "/cart" }),
        5,
    );
}

#[test]
fn a_receiver_that_comes_back_gets_the_cumulative_values_complete() {
    let _serial = serial();
    let addr = free_addr();
    let guard = init(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
            ("SPANSCOPE_EXPORT_MAX_BACKOFF", "200".to_owned()),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "30000".to_owned()),
        ],
    );
    record();
    let flush = std::thread::spawn(spanscope::flush);
    wait_until("a failed attempt", PATIENCE, || metrics_exporter().retried > 0);
    orders::add(6, orders::Attributes { route: "/cart" });
    let collector = Collector::grpc_at(addr);
    assert!(flush.join().unwrap(), "the flush is done once the receiver answers");
    let requests = flushed(&collector);
    drop(guard);
    // The newest request holds every recording: values are cumulative.
    let metrics = metrics_of(requests.last().unwrap());
    assert_eq!(orders_by_route(&metrics), BTreeMap::from([("/cart".to_owned(), 7), ("/checkout".to_owned(), 3)]));
}

#[test]
fn the_metrics_variables_win_over_the_generic_ones() {
    let _serial = serial();
    let collector = Collector::http(http::StatusCode::OK);
    let dead = free_addr();
    let guard = init(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{dead}")),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-signal=generic,x-tenant=acme".to_owned()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1".to_owned()),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", format!("{}/custom/metrics", collector.url())),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json".to_owned()),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-signal=metrics".to_owned()),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "30000".to_owned()),
        ],
    );
    record();
    let requests = flushed(&collector);
    drop(guard);
    let received = collector.received.lock().unwrap();
    assert_eq!(received.paths[0], "/custom/metrics", "the per-signal endpoint is used as given");
    assert_eq!(
        (received.headers["x-signal"].to_str().unwrap(), received.headers["x-tenant"].to_str().unwrap()),
        ("metrics", "acme")
    );
    assert_eq!(requests.len(), 1);
    assert_eq!(received.metrics_json, received.metrics.len(), "every request is OTLP/JSON");
    check_recorded(&requests[0], "http/json");
}
