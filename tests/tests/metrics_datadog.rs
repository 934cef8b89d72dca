//! The DogStatsD exporter against in-process agents: a UDP socket and a Unix datagram socket on
//! this machine, whose datagrams are read back with a parser of the format written here from
//! DataDog's documentation. Counts as deltas across collections, gauges, histograms as
//! distributions whose sample rates weight each bucket exactly, the unified service tags,
//! packing under each transport's payload bound, hostile attribute values, an agent that starts
//! after the application, and a bad `DD_DOGSTATSD_URL` stopping start-up.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use spanscope::{ExporterStats, Signal};
use spanscope_tests::collector::{serial, wait_until};
use spanscope_tests::fresh_dir;

const PATIENCE: Duration = Duration::from_secs(60);

spanscope::tags! {
    /// The route being served.
    pub route: String = "http.route",
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

fn order(route: &str, count: u64) {
    orders::add(count, orders::Attributes { route });
}

/// One DogStatsD line: `name:value|type[|@rate][|#tag,tag]`.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    name: String,
    value: f64,
    kind: String,
    rate: f64,
    tags: Vec<String>,
}

impl Line {
    /// Reads a line as the agent would, refusing anything it would not take.
    fn parse(line: &str) -> Self {
        let (name, rest) = line.split_once(':').unwrap_or_else(|| panic!("no `:` in {line:?}"));
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
            "name {name:?}"
        );
        let mut fields = rest.split('|');
        let value: f64 = fields.next().unwrap().parse().unwrap_or_else(|_| panic!("value in {line:?}"));
        assert!(value.is_finite(), "{line:?}");
        let kind = fields.next().unwrap_or_else(|| panic!("no type in {line:?}")).to_owned();
        assert!(["c", "g", "d"].contains(&kind.as_str()), "type in {line:?}");
        let (mut rate, mut tags) = (1.0, Vec::new());
        for field in fields {
            if let Some(r) = field.strip_prefix('@') {
                rate = r.parse().unwrap_or_else(|_| panic!("rate in {line:?}"));
                assert!(rate > 0.0 && rate <= 1.0, "{line:?}");
            } else if let Some(list) = field.strip_prefix('#') {
                tags = list.split(',').map(str::to_owned).collect();
                assert!(tags.iter().all(|t| !t.is_empty() && !t.contains('#')), "{line:?}");
            } else {
                panic!("unknown field {field:?} in {line:?}");
            }
        }
        Self { name: name.to_owned(), value, kind, rate, tags }
    }

    fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find_map(|t| t.strip_prefix(key)?.strip_prefix(':'))
    }
}

/// An agent on this machine: the datagrams it received.
enum Agent {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Agent {
    fn udp() -> (Self, String) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let url = format!("udp://{}", socket.local_addr().unwrap());
        (Self::Udp(socket), url)
    }

    fn unix(path: &Path) -> Self {
        Self::Unix(UnixDatagram::bind(path).unwrap())
    }

    /// The datagrams waiting (all sent before a flush returns are).
    fn datagrams(&self) -> Vec<String> {
        let mut buffer = vec![0; 65_536];
        let mut datagrams = Vec::new();
        loop {
            let received = match self {
                Self::Udp(socket) => socket.set_nonblocking(true).and_then(|()| socket.recv(&mut buffer)),
                Self::Unix(socket) => socket.set_nonblocking(true).and_then(|()| socket.recv(&mut buffer)),
            };
            match received {
                Ok(n) => datagrams.push(String::from_utf8(buffer[..n].to_vec()).expect("UTF-8")),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return datagrams,
                Err(error) => panic!("{error}"),
            }
        }
    }

    /// Flushes, then the lines received, each parsed; checks each datagram fits `max_payload`.
    fn flushed(&self, max_payload: usize) -> Vec<Line> {
        assert!(spanscope::flush(), "flush");
        let datagrams = self.datagrams();
        assert!(
            datagrams.iter().all(|d| d.len() <= max_payload),
            "{:?}",
            datagrams.iter().map(String::len).collect::<Vec<_>>()
        );
        datagrams.iter().flat_map(|d| d.split('\n')).map(Line::parse).collect()
    }
}

/// Starts spanscope with the datadog metrics exporter (collections only at flush and shutdown)
/// and `vars`.
fn init(vars: &[(&str, &str)]) -> spanscope::Guard {
    let mut config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(fresh_dir("metrics-datadog"))
        .exporters([] as [spanscope::TracesExporter; 0])
        .var("OTEL_METRICS_EXPORTER", "datadog")
        .var("OTEL_METRIC_EXPORT_INTERVAL", "2147483647");
    for (name, value) in vars {
        config = config.var(*name, *value);
    }
    bytes_read::register();
    spanscope::try_init(config).expect("spanscope init")
}

fn named<'a>(lines: &'a [Line], name: &str) -> Vec<&'a Line> {
    lines.iter().filter(|l| l.name == name).collect()
}

/// `shop.orders`' counts by route.
fn orders_by_route(lines: &[Line]) -> BTreeMap<String, f64> {
    named(lines, "shop.orders")
        .into_iter()
        .map(|l| {
            assert_eq!(l.kind, "c", "{l:?}");
            (l.tag("http.route").unwrap().to_owned(), l.value)
        })
        .collect()
}

/// The histogram's lines as (value, weight), the weight being how many values the agent counts.
fn distribution(lines: &[Line]) -> Vec<(f64, f64)> {
    named(lines, "shop.price.duration")
        .into_iter()
        .map(|l| {
            assert_eq!(l.kind, "d", "{l:?}");
            (l.value, (1.0 / l.rate).round())
        })
        .collect()
}

fn metrics_exporter() -> ExporterStats {
    spanscope::stats().exporters.into_iter().find(|e| e.signal == Signal::Metrics).expect("a metrics exporter")
}

#[test]
fn counts_go_as_deltas_gauges_as_values_and_histograms_as_exactly_weighted_distributions() {
    let _serial = serial();
    let (agent, url) = Agent::udp();
    let guard = init(&[("DD_DOGSTATSD_URL", &url), ("DD_ENV", "prod"), ("DD_VERSION", "1.4.2")]);
    assert_eq!(metrics_exporter().name, format!("dogstatsd ({url})"));
    order("/checkout", 3);
    order("/cart", 1);
    preparing::add(5, preparing::Attributes {});
    preparing::add(-2, preparing::Attributes {});
    for value in [0.05, 0.5, 0.7, 2.0] {
        price::record(value, price::Attributes {});
    }
    BYTES.store(4096, Ordering::Relaxed);
    let first = agent.flushed(1432);
    for line in &first {
        assert_eq!(line.tags[..3], ["env:prod", "service:checkout", "version:1.4.2"], "{line:?}");
    }
    assert_eq!(orders_by_route(&first), BTreeMap::from([("/cart".to_owned(), 1.0), ("/checkout".to_owned(), 3.0)]));
    let preparing = named(&first, "shop.preparing");
    assert_eq!((preparing.len(), preparing[0].kind.as_str(), preparing[0].value), (1, "g", 3.0));
    // Below 0.1 the minimum, between the bounds their midpoint, above 1.0 the maximum.
    assert_eq!(distribution(&first), [(0.05, 1.0), (0.55, 2.0), (2.0, 1.0)]);
    let bytes = named(&first, "shop.bytes.read");
    assert_eq!((bytes[0].kind.as_str(), bytes[0].value), ("c", 4096.0));

    order("/checkout", 2);
    price::record(0.5, price::Attributes {});
    preparing::add(-1, preparing::Attributes {});
    let second = agent.flushed(1432);
    drop(guard);
    assert_eq!(orders_by_route(&second), BTreeMap::from([("/checkout".to_owned(), 2.0)]), "only what changed");
    assert_eq!(named(&second, "shop.preparing")[0].value, 2.0, "gauges carry the current value");
    assert_eq!(distribution(&second), [(0.55, 1.0)]);
    assert!(named(&second, "shop.bytes.read").is_empty(), "an unchanged count sends no line");
    let exporter = metrics_exporter();
    assert_eq!((exporter.dropped_rejected, exporter.retried), (0, 0), "{exporter:?}");
}

#[test]
fn many_series_are_packed_under_the_payload_bound_without_splitting_a_line() {
    let _serial = serial();
    let (agent, url) = Agent::udp();
    let guard = init(&[("DD_DOGSTATSD_URL", &url)]);
    for n in 0..300 {
        order(&format!("/items/{n}"), n + 1);
    }
    assert!(spanscope::flush());
    let datagrams = agent.datagrams();
    drop(guard);
    assert!(datagrams.len() > 5, "{} datagrams", datagrams.len());
    assert!(datagrams.iter().all(|d| d.len() <= 1432 && !d.ends_with('\n')));
    assert!(datagrams.iter().any(|d| d.len() > 1432 - 60), "datagrams are filled");
    let lines: Vec<Line> = datagrams.iter().flat_map(|d| d.split('\n')).map(Line::parse).collect();
    let orders = orders_by_route(&lines);
    assert_eq!(orders.len(), 300);
    assert!((0..300).all(|n| orders[&format!("/items/{n}")] == (n + 1) as f64));
    assert!(lines.iter().all(|l| l.tag("service") == Some("checkout") && l.tag("env").is_none()), "{lines:?}");
}

#[test]
fn a_unix_datagram_agent_gets_hostile_values_escaped_and_bounded() {
    let _serial = serial();
    let dir = fresh_dir("metrics-datadog-unix");
    let path = dir.join("dsd.socket");
    let agent = Agent::unix(&path);
    let url = format!("unixgram://{}", path.display());
    let guard = init(&[("DD_DOGSTATSD_URL", &url), ("DD_SERVICE", "cart")]);
    let hostile = "a|b,c#d\ne\rf:g é";
    order(hostile, 1);
    order(&"x".repeat(65_536), 2);
    let lines = agent.flushed(8192);
    drop(guard);
    assert!(lines.iter().all(|l| l.tag("service") == Some("cart")), "DD_SERVICE names the service: {lines:?}");
    let orders = orders_by_route(&lines);
    assert_eq!(orders["a_b_c_d_e_f:g é"], 1.0, "{orders:?}");
    let (long, count) = orders.iter().find(|(route, _)| route.starts_with("xxx")).unwrap();
    assert_eq!(*count, 2.0);
    assert_eq!("http.route:".len() + long.len(), 200, "tags are cut at Datadog's length");
}

#[test]
fn an_agent_that_starts_after_the_application_gets_what_waited() {
    let _serial = serial();
    let dir = fresh_dir("metrics-datadog-later");
    let path = dir.join("dsd.socket");
    let url = format!("unix://{}", path.display());
    let guard = init(&[
        ("DD_DOGSTATSD_URL", &url),
        ("SPANSCOPE_EXPORT_MAX_BACKOFF", "200"),
        ("SPANSCOPE_SHUTDOWN_TIMEOUT", "30000"),
    ]);
    order("/checkout", 4);
    let flush = std::thread::spawn(spanscope::flush);
    wait_until("a failed attempt", PATIENCE, || metrics_exporter().retried > 0);
    let agent = Agent::unix(&path);
    assert!(flush.join().unwrap(), "the flush is done once the agent takes the datagrams");
    let lines = agent.flushed(8192);
    drop(guard);
    let received: f64 = named(&lines, "shop.orders").iter().map(|l| l.value).sum();
    assert_eq!(received, 4.0, "{lines:?}");
}

#[test]
fn a_bad_dogstatsd_url_stops_start_up_naming_it_and_unused_variables_are_not_read() {
    let _serial = serial();
    for url in ["tcp://agent:8125", "unix://", "udp://agent:0"] {
        let config = spanscope::Config::new()
            .out_dir(fresh_dir("metrics-datadog-bad"))
            .var("OTEL_METRICS_EXPORTER", "datadog")
            .var("DD_DOGSTATSD_URL", url);
        let error = spanscope::try_init(config).expect_err("refused at start-up");
        assert!(error.to_string().contains("DD_DOGSTATSD_URL"), "{error}");
    }
    let config = spanscope::Config::new()
        .out_dir(fresh_dir("metrics-datadog-bad"))
        .var("OTEL_METRICS_EXPORTER", "local")
        .var("DD_DOGSTATSD_URL", "tcp://agent:8125");
    drop(spanscope::try_init(config).expect("DD_DOGSTATSD_URL is read only for the datadog exporter"));
}
