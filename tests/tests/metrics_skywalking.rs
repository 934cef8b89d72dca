//! The SkyWalking meter exporter against the in-process OAP: the `MeterData` of a collection
//! (single values, a histogram's lower-bound buckets, labels, the service and instance on the
//! first message), the `authentication` token, an OAP that is down, and the meter names the
//! shipped OAP rules (`docs/skywalking/spanscope.yaml`) read, all sent by a service serving HTTP
//! and gRPC.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use spanscope::entry;
use spanscope::tower::ServerLayer;
use spanscope_tests::collector::skywalking::proto::{meter_data, MeterBucketValue, MeterData};
use spanscope_tests::collector::skywalking::{Collector, Options};
use spanscope_tests::collector::{free_addr, serial, Incoming as TcpIncoming};
use spanscope_tests::fresh_dir;
use spanscope_tests::http::serve_http1;
use spanscope_tests::metrics::{assert_a_down_backend_loses_only_what_it_counts, metrics_exporter};
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

mod echo {
    tonic::include_proto!("spanscope.test.echo.v1");
}

/// The OAP rules the README tells users to install.
const RULES: &str = include_str!("../../docs/skywalking/spanscope.yaml");

spanscope::tags! {
    /// The route being served.
    pub route: &'static str = "http.route",
}

spanscope::metrics! {
    /// Orders placed.
    pub orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route] },
    /// Orders being prepared.
    pub preparing: UpDownCounter<i64> = "shop.preparing" { unit: "{order}" },
    /// The basket's size.
    pub basket: Gauge<f64> = "shop.basket.size" { unit: "{item}" },
    /// Time to price a basket.
    pub price: Histogram<f64> = "shop.price.duration" { unit: "s", buckets: [0.1, 1.0] },
    /// Temperatures of the cold room.
    pub temperature: Histogram<f64> = "shop.cold_room.temperature" { unit: "Cel", buckets: [-5.0, 5.0] },
}

/// Starts spanscope with the SkyWalking meter exporter only (collections at flush and
/// shutdown) and `vars`.
fn init(vars: &[(&str, String)]) -> spanscope::Guard {
    let mut config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(fresh_dir("metrics-skywalking"))
        .exporters([])
        .var("OTEL_METRICS_EXPORTER", "skywalking")
        .var("OTEL_METRIC_EXPORT_INTERVAL", "2147483647")
        .var("SW_AGENT_INSTANCE_NAME", "checkout-1");
    for (name, value) in vars {
        config = config.var(*name, value.clone());
    }
    spanscope::try_init(config).expect("spanscope init")
}

fn backend(collector: &Collector) -> (&'static str, String) {
    ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", collector.addr().to_string())
}

fn record() {
    orders::add(3, orders::Attributes { route: "/checkout" });
    orders::add(1, orders::Attributes { route: "/cart" });
    preparing::add(5, preparing::Attributes {});
    preparing::add(-2, preparing::Attributes {});
    basket::record(2.5, basket::Attributes {});
    for value in [0.05, 0.5, 0.7, 2.0] {
        price::record(value, price::Attributes {});
    }
    for value in [-10.0, 0.0, 8.0] {
        temperature::record(value, temperature::Attributes {});
    }
}

/// Flushes, then the meter streams received.
fn flushed(collector: &Collector) -> Vec<Vec<MeterData>> {
    assert!(spanscope::flush(), "flush");
    collector.received.lock().unwrap().meter_streams.clone()
}

/// A meter's name and labels (sorted), as the OAP tells series apart.
type Series = (String, BTreeMap<String, String>);

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    (name.to_owned(), labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

/// A stream's single values and histograms by series.
fn by_series(stream: &[MeterData]) -> (BTreeMap<Series, f64>, BTreeMap<Series, Vec<MeterBucketValue>>) {
    let (mut values, mut histograms) = (BTreeMap::new(), BTreeMap::new());
    for data in stream {
        match data.metric.as_ref().expect("a meter") {
            meter_data::Metric::SingleValue(v) => {
                let labels = v.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
                assert!(values.insert((v.name.clone(), labels), v.value).is_none(), "one value per series: {v:?}");
            }
            meter_data::Metric::Histogram(h) => {
                let labels = h.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
                histograms.insert((h.name.clone(), labels), h.values.clone());
            }
        }
    }
    (values, histograms)
}

/// (lower bound, or None for −∞; count) of each bucket.
fn shape(values: &[MeterBucketValue]) -> Vec<(Option<f64>, i64)> {
    values.iter().map(|v| ((!v.is_negative_infinity).then_some(v.bucket), v.count)).collect()
}

#[test]
fn a_collection_is_one_stream_of_single_values_and_lower_bound_histograms() {
    let _serial = serial();
    let collector = Collector::start(Options::default());
    let guard = init(&[backend(&collector)]);
    record();
    let streams = flushed(&collector);
    let exported = metrics_exporter().exported;
    drop(guard);
    assert_eq!(streams.len(), 1, "one stream per collection");
    assert_eq!(exported, points(&streams[0]), "the lane counts points, not messages");
    let stream = &streams[0];
    let first = &stream[0];
    assert_eq!((first.service.as_str(), first.service_instance.as_str()), ("checkout", "checkout-1"));
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(first.timestamp > now_ms - 600_000 && first.timestamp <= now_ms, "ms since the epoch: {}", first.timestamp);
    assert!(stream[1..].iter().all(|d| d.service.is_empty() && d.timestamp == 0), "the first message names them");

    let (values, histograms) = by_series(stream);
    assert_eq!(values[&series("shop_orders", &[("http_route", "/checkout")])], 3.0);
    assert_eq!(values[&series("shop_orders", &[("http_route", "/cart")])], 1.0);
    assert_eq!(values[&series("shop_preparing", &[])], 3.0);
    assert_eq!(values[&series("shop_basket_size", &[])], 2.5);
    // Seconds go as milliseconds: buckets (−∞ → 0), (0.1 s → 100 ms), (1 s → 1000 ms).
    let price = series("shop_price_duration", &[]);
    assert_eq!(shape(&histograms[&price]), [(Some(0.0), 1), (Some(100.0), 2), (Some(1000.0), 1)]);
    assert_eq!(values[&series("shop_price_duration_count", &[])], 4.0);
    assert!((values[&series("shop_price_duration_sum", &[])] - 3250.0).abs() < 1e-6, "{values:?}");
    // An `f64` in Celsius may be negative: its first bucket is SkyWalking's −∞.
    let temperature = series("shop_cold_room_temperature", &[]);
    assert_eq!(shape(&histograms[&temperature]), [(None, 1), (Some(-5.0), 1), (Some(5.0), 1)]);
}

/// The points of a stream: single values that are not a histogram's `_count` or `_sum`, and
/// histograms.
fn points(stream: &[MeterData]) -> u64 {
    let histograms: BTreeSet<String> = stream
        .iter()
        .filter_map(|d| match &d.metric {
            Some(meter_data::Metric::Histogram(h)) => Some(h.name.clone()),
            _ => None,
        })
        .collect();
    let companion = |name: &str| {
        let base = name.strip_suffix("_count").or_else(|| name.strip_suffix("_sum"));
        base.is_some_and(|base| histograms.contains(base))
    };
    stream
        .iter()
        .filter(|d| match &d.metric {
            Some(meter_data::Metric::SingleValue(v)) => !companion(&v.name),
            _ => true,
        })
        .count() as u64
}

#[test]
fn the_authentication_token_travels_with_every_stream() {
    let _serial = serial();
    let collector = Collector::start(Options { token: Some("s3cr3t".to_owned()), tls: None });
    let guard = init(&[backend(&collector), ("SW_AGENT_AUTHENTICATION", "s3cr3t".to_owned())]);
    record();
    let streams = flushed(&collector);
    drop(guard);
    assert_eq!(streams.len(), 1, "the OAP accepted the stream");
    assert_eq!(collector.received.lock().unwrap().token.as_deref(), Some("s3cr3t"));

    // A wrong token is refused by the OAP: the points are counted as rejected, not retried.
    let collector = Collector::start(Options { token: Some("s3cr3t".to_owned()), tls: None });
    let guard = init(&[
        backend(&collector),
        ("SW_AGENT_AUTHENTICATION", "wrong".to_owned()),
        ("SPANSCOPE_EXPORT_MAX_BACKOFF", "200".to_owned()),
        ("SPANSCOPE_SHUTDOWN_TIMEOUT", "2000".to_owned()),
    ]);
    record();
    spanscope::flush();
    let exporter = metrics_exporter();
    drop(guard);
    assert!(collector.received.lock().unwrap().meter_streams.is_empty());
    assert_eq!(exporter.exported, 0, "{exporter:?}");
    assert!(exporter.dropped_rejected >= 7, "{exporter:?}");
}

#[test]
fn an_oap_that_is_down_costs_the_recording_nothing_and_its_points_are_counted() {
    let _serial = serial();
    let before = spanscope::stats();
    let addr = free_addr();
    let guard = init(&[
        ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", addr.to_string()),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "500".to_owned()),
        ("SPANSCOPE_SHUTDOWN_TIMEOUT", "2000".to_owned()),
    ]);
    record();
    assert_a_down_backend_loses_only_what_it_counts(
        guard,
        &before,
        || orders::add(1, orders::Attributes { route: "/cart" }),
        7,
    );
}

#[derive(Debug)]
struct EchoService;

#[tonic::async_trait]
impl echo::echo_server::Echo for EchoService {
    async fn say(&self, request: GrpcRequest<echo::SayRequest>) -> Result<GrpcResponse<echo::SayReply>, Status> {
        Ok(GrpcResponse::new(echo::SayReply { text: request.into_inner().text }))
    }
}

/// One request answered by an HTTP server and one call by a gRPC server, both behind
/// `ServerLayer`, on loopback.
async fn serve_one_request_and_one_call() {
    let http = serve_http1(
        ServerLayer::new(),
        tower::service_fn(|_: Request<Incoming>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        }),
    )
    .await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.get(format!("http://{http}/orders").parse().unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .layer(ServerLayer::new())
        .add_service(echo::echo_server::EchoServer::new(EchoService));
    tokio::spawn(server.serve_with_incoming(TcpIncoming(listener)));
    let mut client = echo::echo_client::EchoClient::connect(format!("http://{grpc}")).await.unwrap();
    client.say(echo::SayRequest { text: "hi".to_owned(), fail_with: 0 }).await.unwrap();
}

#[entry(name = "handle order")]
fn handle_order() {}

/// The meter each rule of `rules` reads (the identifier its `exp` starts with), and the labels
/// its `tagMatch`/`tagEqual` filters name.
fn rule_inputs(rules: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut inputs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for exp in rules.lines().filter_map(|line| line.trim().strip_prefix("exp:")) {
        let exp = exp.trim();
        let meter = exp.split('.').next().unwrap().to_owned();
        let labels = inputs.entry(meter).or_default();
        for filter in ["tagMatch('", "tagEqual('"] {
            for (at, _) in exp.match_indices(filter) {
                let label = exp[at + filter.len()..].split('\'').next().unwrap();
                labels.insert(label.to_owned());
            }
        }
    }
    inputs
}

#[test]
fn every_meter_the_oap_rules_read_is_sent_with_the_labels_they_filter_on() {
    let _serial = serial();
    let collector = Collector::start(Options::default());
    let guard = init(&[backend(&collector)]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(serve_one_request_and_one_call());
    handle_order();
    let streams = flushed(&collector);
    drop(guard);
    drop(runtime);
    let mut sent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for data in streams.iter().flatten() {
        let (name, labels) = match data.metric.as_ref().unwrap() {
            meter_data::Metric::SingleValue(v) => (&v.name, &v.labels),
            meter_data::Metric::Histogram(h) => (&h.name, &h.labels),
        };
        sent.entry(name.clone()).or_default().extend(labels.iter().map(|l| l.name.clone()));
    }
    let inputs = rule_inputs(RULES);
    assert!(inputs.len() >= 8, "the rules were read: {inputs:?}");
    for (meter, labels) in &inputs {
        let Some(sent_labels) = sent.get(meter) else {
            panic!("the rules read {meter}, which is not sent; sent: {:?}", sent.keys())
        };
        assert!(labels.is_subset(sent_labels), "{meter}: the rules filter on {labels:?}, sent {sent_labels:?}");
    }
}
