//! The Prometheus endpoint end to end: a real Prometheus server (Debian's `prometheus`, which
//! `.ci/run` installs) scrapes it over loopback, stores its series and, from the OpenMetrics
//! scrape, its exemplars, which lead to spans exported in the same run; a port in use stops
//! start-up naming the variables; scrapers that misbehave get an error and the endpoint goes on.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use spanscope::{Config, MetricsExporter};
use spanscope_tests::collector::serial;
use spanscope_tests::prometheus::{get, Prometheus};
use spanscope_tests::{fresh_dir, read_spans};

spanscope::tags! {
    /// The route served.
    pub route: &'static str = "http.route",
}

spanscope::metrics! {
    /// Orders placed.
    pub orders: Counter<u64> = "test.prom.orders" { unit: "{order}", attributes: [route] },
    /// Time to serve an order.
    pub latency: Histogram<f64> = "test.prom.latency" { unit: "s", attributes: [route], buckets: [0.1, 1.0] },
}

#[spanscope::entry(name = "GET /checkout")]
fn checkout(i: u64) {
    spanscope::record!(orders, 1, route = "/checkout");
    spanscope::record!(latency, 0.05 + 0.1 * (i % 3) as f64, route = "/checkout");
}

/// An address with nothing listening right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}

fn prometheus_config(port: u16) -> Config {
    Config::new()
        .service_name("prom-test")
        .out_dir(fresh_dir("prometheus-endpoint"))
        .metrics_exporters([MetricsExporter::Prometheus])
        .var("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
        .var("OTEL_EXPORTER_PROMETHEUS_PORT", port.to_string())
}

#[test]
fn a_real_prometheus_scrapes_the_endpoint_and_stores_exemplars_that_lead_to_spans() {
    let _serial = serial();
    let port = free_port();
    let dir = fresh_dir("prometheus-scraped");
    let guard = spanscope::try_init(prometheus_config(port).out_dir(&dir)).expect("init");
    for i in 0..30 {
        checkout(i);
    }
    spanscope::flush();
    let prometheus = Prometheus::scraping(SocketAddr::from(([127, 0, 0, 1], port)));
    let (health, error) = prometheus.target_health();
    assert_eq!(health, "up", "the scrape failed: {error}");

    let orders = prometheus.query(r#"test_prom_orders_total{http_route="/checkout"}"#);
    let series = &orders["data"]["result"][0];
    assert_eq!(series["value"][1], "30", "{orders}");
    assert_eq!(series["metric"]["otel_scope_name"], "spanscope-tests", "{orders}");
    let buckets = prometheus.query(r#"test_prom_latency_seconds_bucket{le="+Inf"}"#);
    assert_eq!(buckets["data"]["result"][0]["value"][1], "30", "{buckets}");
    let target = prometheus.query(r#"target_info{service_name="prom-test"}"#);
    assert_eq!(target["data"]["result"][0]["value"][1], "1", "{target}");

    // Every exemplar names a span of this run, in a bucket its value belongs to.
    let spans = read_spans(&dir.join("traces.jsonl"));
    let exemplars = prometheus.exemplars("test_prom_latency_seconds_bucket");
    let mut seen = 0;
    for series in exemplars["data"].as_array().expect("series") {
        let le: f64 =
            series["seriesLabels"]["le"].as_str().expect("le").replace("+Inf", "inf").parse().expect("a bound");
        for exemplar in series["exemplars"].as_array().expect("exemplars") {
            let (trace, span) = (&exemplar["labels"]["trace_id"], &exemplar["labels"]["span_id"]);
            assert!(
                spans.iter().any(|s| s.name == "GET /checkout" && s.trace_id == *trace && s.span_id == *span),
                "exemplar {exemplar} names no exported span"
            );
            let value: f64 = exemplar["value"].as_str().expect("value").parse().expect("a number");
            assert!(value <= le, "exemplar {value} above its bucket's bound {le}");
            seen += 1;
        }
    }
    assert!(seen >= 1, "{exemplars}");
    drop(prometheus);
    drop(guard);
}

#[test]
fn a_port_in_use_stops_start_up_naming_the_variables() {
    let _serial = serial();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let error = spanscope::try_init(prometheus_config(port)).expect_err("refused at start-up");
    let message = error.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("OTEL_EXPORTER_PROMETHEUS_PORT"),
        "{message}"
    );
    // Nothing was left running: the next start-up works.
    drop(taken);
    let guard = spanscope::try_init(prometheus_config(free_port())).expect("init after the refusal");
    drop(guard);
}

#[test]
fn scrapers_that_misbehave_get_an_error_and_the_endpoint_goes_on() {
    let _serial = serial();
    let port = free_port();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let guard = spanscope::try_init(prometheus_config(port)).expect("init");
    checkout(0);
    assert_eq!(get(address, "/other").map(|(status, _)| status), Some(404));
    let mut post = TcpStream::connect(address).expect("connect");
    write!(post, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n").expect("write");
    let mut answer = String::new();
    post.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.0 405") || answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("allow: get, head"), "{answer}");
    // Connections that never send a request, more than the endpoint serves at once.
    let idle: Vec<TcpStream> = (0..40).filter_map(|_| TcpStream::connect(address).ok()).collect();
    let mut garbage = TcpStream::connect(address).expect("connect");
    let _ = garbage.write_all(&[0xff; 4096]);
    std::thread::sleep(Duration::from_millis(200));
    drop(idle);
    // Served again once they are gone, in the text format by default.
    let mut body = None;
    for _ in 0..50 {
        body = get(address, "/metrics").filter(|(status, _)| *status == 200).map(|(_, body)| body);
        if body.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = body.expect("the endpoint answers after the idle connections close");
    assert!(body.contains("# TYPE test_prom_orders_total counter"), "{body}");
    assert!(!body.contains("# EOF"), "text 0.0.4 has no EOF marker");
    drop(guard);
    assert!(get(address, "/metrics").is_none(), "the endpoint stops at shutdown");
}
