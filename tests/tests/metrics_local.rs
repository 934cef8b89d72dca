//! The `local` and `console` metrics exporters end to end: instruments recorded from several
//! threads, collected by the reporter at its interval, at a flush and at shutdown, written to
//! `metrics.jsonl` and read back; the cardinality limit's overflow series; exemplars leading to
//! the spans of `traces.jsonl`; the console table; bad values stopping start-up.
//!
//! The instruments are declared with `metrics!`, each test recording its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use spanscope::profiler::ProfilerConfig;
use spanscope::{Config, Guard, MetricsExporter, Signal, TracesExporter};
use spanscope_readback::metrics::{read_metrics, Collection, ExportedHistogram};
use spanscope_tests::collector::{serial, wait_until};
use spanscope_tests::{fresh_dir, read_spans};

const MAIN: &str = env!("CARGO_BIN_EXE_fixture_main");

spanscope::tags! {
    /// The route served.
    pub route: &'static str = "http.route",
}

spanscope::metrics! {
    /// Orders placed.
    pub orders: Counter<u64> = "test.local.orders" { unit: "{order}", attributes: [route] },
    /// Time taken.
    pub latency: Histogram<f64> = "test.local.latency" { unit: "s", buckets: [0.1, 1.0] },
    /// The oven's temperature.
    pub temperature: Gauge<i64> = "test.local.temperature" { unit: "Cel" },
    /// Orders waiting.
    pub queue: UpDownCounter<i64> = "test.local.queue",
    /// Worker threads.
    pub threads: ObservableGauge<u64> = "test.local.threads" { attributes: [route], callback: count_threads },
    /// Recorded by a thread that exits.
    pub exited: Counter<u64> = "test.local.exited",
    /// Recorded under more attribute sets than the limit.
    pub overflow: Counter<u64> = "test.local.overflow" { attributes: [route] },
    /// Prices computed.
    pub priced: Counter<u64> = "test.local.priced",
    /// Time to compute a price.
    pub price_duration: Histogram<f64> = "test.local.price.duration" { unit: "s", buckets: [1.0] },
    /// Recorded under each exemplar filter.
    pub filtered: Counter<u64> = "test.local.filtered",
    /// Recorded just before shutdown.
    pub last: Counter<u64> = "test.local.shutdown",
    /// Collected at each interval.
    pub ticks: Counter<u64> = "test.local.interval",
    /// Recorded while no metrics exporter runs.
    pub unseen: Counter<u64> = "test.local.none",
    /// Orders, printed on the console.
    pub console_orders: Counter<u64> = "test.console.orders" { unit: "{order}", attributes: [route] },
}

fn count_threads(observer: &mut threads::Observer<'_>) {
    observer.record(7, threads::Attributes { route: "/observed" });
}

/// Starts spanscope writing metrics (and traces) to `dir`, collecting only when asked (the
/// interval is an hour) unless `adjust` says otherwise.
fn start(dir: &Path, adjust: impl FnOnce(Config) -> Config) -> Guard {
    let config = Config::new()
        .service_name("meters")
        .out_dir(dir)
        .profiler(ProfilerConfig::new().enabled(false))
        .schedule_delay(Duration::from_millis(10))
        .metrics_exporters([MetricsExporter::Local])
        .metric_export_interval(Duration::from_secs(3600));
    spanscope::try_init(adjust(config)).expect("spanscope init")
}

fn metrics_file(dir: &Path) -> PathBuf {
    dir.join("metrics.jsonl")
}

/// The newest collection written to `dir`.
fn last_collection(dir: &Path) -> Collection {
    read_metrics(&metrics_file(dir)).pop().expect("a collection was written")
}

fn value_of(collection: &Collection, name: &str, attributes: &[(&str, Value)]) -> Option<f64> {
    collection.metric(name)?.point(attributes)?.value
}

#[test]
fn every_kind_of_instrument_is_written_with_its_values_at_a_flush() {
    let _serial = serial();
    let dir = fresh_dir("kinds");
    let guard = start(&dir, |config| config);
    threads::register();
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            scope.spawn(move || {
                for _ in 0..1000 {
                    orders::add(1, orders::Attributes { route: "/checkout" });
                }
                spanscope::record!(orders, thread, route = "/cart");
            });
        }
    });
    // A value on a bucket's bound counts in that bucket: (−∞, 0.1], (0.1, 1], (1, +∞).
    for value in [0.1, 0.5, 1.0, 2.0] {
        spanscope::record!(latency, value);
    }
    // The last value recorded by any thread is the gauge's.
    std::thread::spawn(|| spanscope::record!(temperature, 10)).join().unwrap();
    std::thread::spawn(|| spanscope::record!(temperature, -20)).join().unwrap();
    queue::add(5, queue::Attributes {});
    spanscope::record!(queue, -2);
    assert!(spanscope::flush(), "flushed within the shutdown timeout");

    let collection = last_collection(&dir);
    assert_eq!(collection.service, "meters");
    let orders = collection.metric("test.local.orders").expect("orders");
    assert_eq!((orders.kind.as_str(), orders.temporality, orders.monotonic), ("sum", 2, true));
    assert_eq!((orders.unit.as_str(), orders.description.as_str()), ("{order}", "Orders placed."));
    assert_eq!(orders.scope, (env!("CARGO_PKG_NAME").to_owned(), env!("CARGO_PKG_VERSION").to_owned()));
    assert_eq!(value_of(&collection, "test.local.orders", &[("http.route", json!("/checkout"))]), Some(4000.0));
    assert_eq!(value_of(&collection, "test.local.orders", &[("http.route", json!("/cart"))]), Some(6.0));
    let latency = collection.metric("test.local.latency").expect("latency");
    assert_eq!((latency.kind.as_str(), latency.temporality), ("histogram", 2));
    assert_eq!(
        latency.points[0].histogram,
        Some(ExportedHistogram {
            count: 4,
            sum: Some(3.6),
            bucket_counts: vec![1, 2, 1],
            explicit_bounds: vec![0.1, 1.0],
            min: Some(0.1),
            max: Some(2.0),
        })
    );
    let temperature = collection.metric("test.local.temperature").expect("temperature");
    assert_eq!((temperature.kind.as_str(), temperature.points[0].value), ("gauge", Some(-20.0)));
    let queue = collection.metric("test.local.queue").expect("queue");
    assert_eq!((queue.kind.as_str(), queue.monotonic, queue.points[0].value), ("sum", false, Some(3.0)));
    assert_eq!(value_of(&collection, "test.local.threads", &[("http.route", json!("/observed"))]), Some(7.0));

    let stats = spanscope::stats();
    let local = stats.exporters.iter().find(|e| e.signal == Signal::Metrics).expect("the metrics exporter is listed");
    assert!(local.name.starts_with("local (") && local.name.ends_with("metrics.jsonl)"), "{}", local.name);
    assert!(local.exported >= 6, "{local:?}");
    assert!(stats.metric_points_exported >= local.exported);
    drop(guard);
}

#[test]
fn a_threads_recordings_are_kept_after_it_exits() {
    let _serial = serial();
    let dir = fresh_dir("exited");
    let guard = start(&dir, |config| config);
    std::thread::spawn(|| spanscope::record!(exited, 3)).join().unwrap();
    assert!(spanscope::flush());
    assert_eq!(value_of(&last_collection(&dir), "test.local.exited", &[]), Some(3.0));
    spanscope::record!(exited, 2);
    assert!(spanscope::flush());
    assert_eq!(
        value_of(&last_collection(&dir), "test.local.exited", &[]),
        Some(5.0),
        "cumulative, the exited thread's kept"
    );
    drop(guard);
}

#[test]
fn sets_past_the_cardinality_limit_go_to_the_overflow_series() {
    let _serial = serial();
    let dir = fresh_dir("overflow");
    let guard = start(&dir, |config| config.metrics_cardinality_limit(2));
    let before = spanscope::stats().metric_measurements_overflowed;
    for route in ["/a", "/b", "/c", "/d", "/c", "/a"] {
        spanscope::record!(overflow, 1, route);
    }
    // Counted as recorded (collections count the built-in observable instruments' own).
    assert_eq!(spanscope::stats().metric_measurements_overflowed - before, 3);
    assert!(spanscope::flush());
    let collection = last_collection(&dir);
    let overflow = collection.metric("test.local.overflow").expect("the instrument");
    assert_eq!(overflow.points.len(), 3, "two kept sets and the overflow series: {overflow:?}");
    assert_eq!(value_of(&collection, "test.local.overflow", &[("http.route", json!("/a"))]), Some(2.0));
    assert_eq!(value_of(&collection, "test.local.overflow", &[("http.route", json!("/b"))]), Some(1.0));
    assert_eq!(value_of(&collection, "test.local.overflow", &[("otel.metric.overflow", json!(true))]), Some(3.0));
    drop(guard);
}

#[test]
fn exemplars_carry_the_ids_of_spans_exported_in_the_same_run() {
    let _serial = serial();
    let dir = fresh_dir("exemplars");
    let guard = start(&dir, |config| config.exporters([TracesExporter::Local]));
    spanscope::span::local("price").in_scope(|| {
        spanscope::record!(priced, 1);
        spanscope::record!(price_duration, 0.25);
    });
    // Outside a span, the default filter (trace_based) keeps no exemplar.
    spanscope::record!(price_duration, 5.0);
    assert!(spanscope::flush());
    let spans = read_spans(&dir.join("traces.jsonl"));
    let price = spans.iter().find(|span| span.name == "price").expect("the span was exported");
    let collection = last_collection(&dir);
    for name in ["test.local.priced", "test.local.price.duration"] {
        let point = &collection.metric(name).expect(name).points[0];
        let [exemplar] = &point.exemplars[..] else { panic!("{name}: one exemplar: {point:?}") };
        assert_eq!(exemplar.trace_id.as_deref(), Some(price.trace_id.as_str()), "{name}");
        assert_eq!(exemplar.span_id.as_deref(), Some(price.span_id.as_str()), "{name}");
    }
    let duration = &collection.metric("test.local.price.duration").unwrap().points[0];
    assert_eq!(duration.exemplars[0].value, 0.25);
    drop(guard);
}

#[test]
fn the_exemplar_filter_decides_which_recordings_become_exemplars() {
    let _serial = serial();
    for (filter, in_span, expected) in [("always_off", true, None), ("always_on", false, Some(None))] {
        let dir = fresh_dir(filter);
        let guard = start(&dir, |config| config.var("OTEL_METRICS_EXEMPLAR_FILTER", filter));
        match in_span {
            true => spanscope::span::local("in a span").in_scope(|| spanscope::record!(filtered, 1)),
            false => spanscope::record!(filtered, 1),
        }
        assert!(spanscope::flush());
        let collection = last_collection(&dir);
        let point = &collection.metric("test.local.filtered").expect("the instrument").points[0];
        // `always_on` keeps a recording made outside any span: an exemplar without ids.
        let found = point.exemplars.first().map(|exemplar| exemplar.span_id.clone());
        assert_eq!(found, expected, "{filter}: {point:?}");
        drop(guard);
    }
}

#[test]
fn shutdown_writes_the_last_collection() {
    let _serial = serial();
    let dir = fresh_dir("shutdown");
    let guard = start(&dir, |config| config);
    spanscope::record!(last, 9);
    drop(guard);
    assert_eq!(value_of(&last_collection(&dir), "test.local.shutdown", &[]), Some(9.0));
    let stats = spanscope::stats();
    assert_eq!(stats.metric_points_dropped_shutdown, 0);
    assert!(stats.exporters.iter().any(|e| e.signal == Signal::Metrics && e.exported > 0), "{:?}", stats.exporters);
}

#[test]
fn the_reporter_collects_at_each_interval_without_being_asked() {
    let _serial = serial();
    let dir = fresh_dir("interval");
    let guard = start(&dir, |config| config.var("OTEL_METRIC_EXPORT_INTERVAL", "100"));
    spanscope::record!(ticks, 1);
    let file = metrics_file(&dir);
    wait_until("two collections at the interval", Duration::from_secs(30), || read_metrics(&file).len() >= 2);
    for collection in read_metrics(&file) {
        assert_eq!(value_of(&collection, "test.local.interval", &[]), Some(1.0), "cumulative, repeated");
    }
    drop(guard);
}

#[test]
fn without_a_metrics_exporter_nothing_is_collected() {
    let _serial = serial();
    let dir = fresh_dir("none");
    let guard = start(&dir, |config| config.var("OTEL_METRICS_EXPORTER", "none"));
    spanscope::record!(unseen, 1);
    assert!(spanscope::flush());
    assert!(!spanscope::stats().exporters.iter().any(|e| e.signal == Signal::Metrics));
    drop(guard);
    assert!(!metrics_file(&dir).exists());
    // Disabled, as spans are: nothing runs at all.
    let dir = fresh_dir("disabled");
    let guard = start(&dir, |config| config.var("OTEL_SDK_DISABLED", "true"));
    spanscope::record!(unseen, 1);
    drop(guard);
    assert!(!metrics_file(&dir).exists());
}

#[test]
fn a_bad_metrics_variable_stops_start_up_naming_it() {
    let _serial = serial();
    for (name, value) in [
        ("OTEL_METRICS_EXPORTER", "zipkin"),
        ("OTEL_METRICS_EXPORTER", "local,statsd"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "10"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "soon"),
        ("OTEL_METRICS_EXEMPLAR_FILTER", "sampled"),
        ("SPANSCOPE_METRICS_CARDINALITY_LIMIT", "0"),
    ] {
        let config = Config::new().out_dir(fresh_dir("bad")).var(name, value);
        let error = spanscope::try_init(config).expect_err("refused at start-up");
        assert!(error.to_string().contains(name) && error.to_string().contains(value), "{error}");
    }
    // In a `#[spanscope::main]` program, from its real environment: exit status 1, main not run.
    let dir = fresh_dir("bad-main");
    let output = Command::new(MAIN)
        .arg("ok")
        .env("SPANSCOPE_OUT_DIR", &dir)
        .env("OTEL_METRICS_EXPORTER", "statsd")
        .output()
        .expect("run fixture");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("OTEL_METRICS_EXPORTER")
            && stderr.contains("local, console, otlp, prometheus, datadog, skywalking, none"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("done"), "main did not run");
}

/// Set in the child process [`the_console_prints_a_table_per_collection`] runs.
const CONSOLE_CHILD: &str = "SPANSCOPE_TEST_METRICS_CONSOLE_CHILD";

#[test]
fn console_child() {
    if std::env::var_os(CONSOLE_CHILD).is_none() {
        return;
    }
    let guard =
        start(&fresh_dir("console"), |config| config.exporters([]).metrics_exporters([MetricsExporter::Console]));
    spanscope::record!(console_orders, 3, route = "/a\u{1b}[1m");
    drop(guard);
}

#[test]
fn the_console_prints_a_table_per_collection() {
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["console_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CONSOLE_CHILD, "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let table: Vec<&str> = stdout.lines().skip_while(|line| !line.contains("spanscope metrics  ")).collect();
    assert!(table.len() >= 3, "{stdout}");
    assert!(table[1].starts_with("instrument") && table[1].ends_with("value"), "{stdout}");
    let row = table.iter().find(|line| line.starts_with("test.console.orders {order}")).expect("the row");
    // The control character is shown escaped, never sent to the terminal.
    assert!(row.contains(r"http.route=/a\u{1b}[1m") && row.trim_end().ends_with(" 3"), "{row}");
}
