//! Metric recording, side by side in one run: spanscope's declared instruments (unbound, and
//! bound to an attribute set) against the OpenTelemetry SDK, the `metrics` crate with
//! `metrics-exporter-prometheus`'s recorder, and `prometheus-client`, each recording the same
//! counter and histogram with two attributes; and two threads recording one series at once.
//!
//! ```sh
//! cargo bench -p spanscope-benches --bench metrics
//! ```
//!
//! Each peer is used as its documentation shows, with attributes built once outside the loop
//! (their cheapest use): OpenTelemetry's `KeyValue` array, the `metrics` crate's labels in its
//! macro (bound: the handle the macro returns, kept), `prometheus-client`'s label struct in a
//! `Family` (bound: the metric `get_or_create` returned, kept).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter as PromCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram as PromHistogram;

spanscope::tags! {
    route: &'static str = "http.route",
    tenant: String,
}

spanscope::metrics! {
    /// Orders placed.
    orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route, tenant] },
    /// Requests by user, for the collection case.
    per_user: Counter<u64> = "shop.user.requests" { unit: "{request}", attributes: [tenant] },
    /// Time to price a basket.
    price_duration: Histogram<f64> = "shop.price.duration" {
        unit: "s",
        attributes: [route, tenant],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
    },
}

const ROUTE: &str = "/checkout";
const TENANT: &str = "acme";
const BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    route: String,
    tenant: String,
}

fn labels() -> Labels {
    Labels { route: ROUTE.to_owned(), tenant: TENANT.to_owned() }
}

/// spanscope initialised with metrics on (`local`), for the whole run.
fn spanscope_on() {
    static GUARD: std::sync::OnceLock<spanscope::Guard> = std::sync::OnceLock::new();
    GUARD.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("spanscope-metrics-bench-{}", std::process::id()));
        // Room for the collection case's 10,000 series in one instrument.
        spanscope::init(spanscope::Config::new().service_name("bench").out_dir(&dir).metrics_cardinality_limit(10_000))
    });
}

/// The OpenTelemetry SDK's exporter that keeps nothing.
struct Discard;

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for Discard {
    async fn export(
        &self,
        _: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        opentelemetry_sdk::metrics::Temporality::Cumulative
    }
}

/// Every library set up: spanscope initialised with metrics on, the OpenTelemetry SDK's
/// provider with a periodic reader that does not fire during the run, the `metrics` crate's
/// Prometheus recorder installed globally.
struct Peers {
    otel_counter: opentelemetry::metrics::Counter<u64>,
    otel_histogram: opentelemetry::metrics::Histogram<f64>,
    otel_attributes: [KeyValue; 2],
    prom_counters: Family<Labels, PromCounter>,
    prom_histograms: Family<Labels, PromHistogram>,
    _otel_provider: opentelemetry_sdk::metrics::SdkMeterProvider,
}

fn peers() -> Peers {
    spanscope_on();
    // A periodic reader whose interval does not come during the run, exporting nowhere.
    let reader =
        opentelemetry_sdk::metrics::PeriodicReader::builder(Discard).with_interval(Duration::from_secs(3600)).build();
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder().with_reader(reader).build();
    let meter = provider.meter("bench");
    let otel_counter = meter.u64_counter("shop.orders").build();
    let otel_histogram = meter.f64_histogram("shop.price.duration").with_boundaries(BUCKETS.to_vec()).build();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder).expect("the only recorder");
    Peers {
        otel_counter,
        otel_histogram,
        otel_attributes: [KeyValue::new("http.route", ROUTE), KeyValue::new("tenant", TENANT)],
        prom_counters: Family::default(),
        prom_histograms: Family::new_with_constructor(|| PromHistogram::new(BUCKETS)),
        _otel_provider: provider,
    }
}

fn recording(c: &mut Criterion) {
    let peers = peers();
    let attributes = || orders::Attributes { route: ROUTE, tenant: TENANT };

    let mut group = c.benchmark_group("counter add, 2 attributes");
    group.bench_function("spanscope", |b| b.iter(|| orders::add(black_box(1), attributes())));
    let bound = orders::bind(attributes());
    group.bench_function("spanscope bound", |b| b.iter(|| bound.add(black_box(1))));
    group.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| peers.otel_counter.add(black_box(1), &peers.otel_attributes))
    });
    group.bench_function("metrics + prometheus exporter", |b| {
        b.iter(|| metrics::counter!("shop.orders", "http.route" => ROUTE, "tenant" => TENANT).increment(black_box(1)))
    });
    let handle = metrics::counter!("shop.orders", "http.route" => ROUTE, "tenant" => TENANT);
    group.bench_function("metrics + prometheus exporter, handle", |b| b.iter(|| handle.increment(black_box(1))));
    let labels = labels();
    group.bench_function("prometheus-client", |b| {
        b.iter(|| peers.prom_counters.get_or_create(&labels).inc_by(black_box(1)))
    });
    let prom_counter = peers.prom_counters.get_or_create(&labels).clone();
    group.bench_function("prometheus-client, handle", |b| b.iter(|| prom_counter.inc_by(black_box(1))));
    group.finish();

    let histogram_attributes = || price_duration::Attributes { route: ROUTE, tenant: TENANT };
    let mut group = c.benchmark_group("histogram record, 2 attributes");
    group.bench_function("spanscope", |b| b.iter(|| price_duration::record(black_box(0.042), histogram_attributes())));
    let bound = price_duration::bind(histogram_attributes());
    group.bench_function("spanscope bound", |b| b.iter(|| bound.record(black_box(0.042))));
    group.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| peers.otel_histogram.record(black_box(0.042), &peers.otel_attributes))
    });
    group.bench_function("metrics + prometheus exporter", |b| {
        b.iter(|| {
            metrics::histogram!("shop.price.duration", "http.route" => ROUTE, "tenant" => TENANT)
                .record(black_box(0.042))
        })
    });
    group.bench_function("prometheus-client", |b| {
        b.iter(|| peers.prom_histograms.get_or_create(&labels).observe(black_box(0.042)))
    });
    group.finish();

    // Two threads adding to one series: each iteration is one add on every thread; the time is
    // per add on one thread, so a library without a contended cache line shows the same time
    // for 1 and 2 threads.
    let mut group = c.benchmark_group("counter add, one series, threads");
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("spanscope", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| on_threads(threads, iters, || orders::add(black_box(1), attributes())))
        });
        group.bench_with_input(BenchmarkId::new("opentelemetry_sdk", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, || peers.otel_counter.add(black_box(1), &peers.otel_attributes))
            })
        });
        group.bench_with_input(BenchmarkId::new("prometheus-client", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, || {
                    peers.prom_counters.get_or_create(&labels).inc_by(black_box(1));
                })
            })
        });
    }
    group.finish();
}

/// Runs `record` `iters` times on each of `threads` threads started together; the slowest
/// thread's time.
fn on_threads(threads: usize, iters: u64, record: impl Fn() + Sync) -> Duration {
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let begun = Instant::now();
                    for _ in 0..iters {
                        record();
                    }
                    begun.elapsed()
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().expect("worker")).max().unwrap_or_default()
    })
}

/// What the reporter spends on one collection of 10,000 series and its export to `local`
/// (`metrics.jsonl`): `flush()` waits for exactly that (no span is queued).
fn collection(c: &mut Criterion) {
    spanscope_on();
    for user in 0..10_000 {
        per_user::add(1, per_user::Attributes { tenant: &format!("user-{user}") });
    }
    let mut group = c.benchmark_group("collection");
    group.sample_size(20);
    group.bench_function("10,000 series, collected and written to local", |b| b.iter(spanscope::flush));
    group.finish();
}

criterion_group!(benches, recording, collection);
criterion_main!(benches);
