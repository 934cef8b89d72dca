//! The core's tests: recordings from many threads sum exactly, the collector never sees a series
//! go back, exited threads' cells are kept, the cardinality limit holds, and bad values are
//! dropped and counted. Instruments are declared by hand here (the macro's tests live in
//! `ui-tests` and `tests/`).

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::attributes::{AttrRef, AttrValue, AttributeSchema, AttributeSet};
use super::collect::{collect, Collection};
use super::instrument::{Counter, Gauge, Histogram, UpDownCounter};
use super::meta::{InstrumentKind, InstrumentMeta, ValueKind};
use super::observe::{Observable, Observer};
use super::registry;
use super::snapshot::{Number, PointValue, Snapshot};
use crate::stats::{self, Counter as Stat};
use crate::tag::{TagKey, TagMeta};

/// Collections advance the exemplar interval and read every series: tests that collect take turns.
fn collecting() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    // As `init` does: gauges order their values by the clock's ticks.
    crate::clock::start();
    registry::set_enabled(true);
    turn
}

#[allow(non_camel_case_types)]
enum route {}
impl TagKey for route {
    type Value = &'static str;
    fn meta() -> &'static TagMeta {
        static META: TagMeta = TagMeta::new("route", "http.route");
        &META
    }
}

#[allow(non_camel_case_types)]
enum tenant {}
impl TagKey for tenant {
    type Value = String;
    fn meta() -> &'static TagMeta {
        static META: TagMeta = TagMeta::new("tenant", "tenant");
        &META
    }
}

/// What `metrics!` would generate for `attributes: [route, tenant]`.
#[derive(Clone, Copy)]
struct RouteTenant<'a> {
    route: &'static str,
    tenant: &'a str,
}

impl AttributeSet for RouteTenant<'_> {
    const KEYS: &'static [fn() -> &'static TagMeta] = &[<route as TagKey>::meta, <tenant as TagKey>::meta];
    fn visit(&self, mut f: impl FnMut(AttrRef<'_>)) {
        f(self.route.attr_ref());
        f(self.tenant.attr_ref());
    }
}

enum RouteTenantSchema {}
impl AttributeSchema for RouteTenantSchema {
    type Attributes<'a> = RouteTenant<'a>;
}

/// An instrument's declaration, as `metrics!` would write it.
const fn meta(name: &'static str, kind: InstrumentKind, value: ValueKind, buckets: &'static [f64]) -> InstrumentMeta {
    InstrumentMeta { name, unit: "", description: "", kind, value, scope: ("spanscope-tests", "0"), buckets }
}

/// The points of instrument `name`: `(tenant, value)`, sorted by tenant.
fn points(snapshot: &Snapshot, name: &str) -> Vec<(String, PointValue)> {
    let mut points: Vec<(String, PointValue)> = snapshot
        .metrics
        .iter()
        .filter(|metric| metric.meta.name == name)
        .flat_map(|metric| &metric.points)
        .map(|point| {
            let tenant = point.attributes.iter().find(|(key, _)| key.wire_name() != "http.route");
            (
                tenant.map_or_else(String::new, |(key, value)| format!("{}={value}", key.wire_name())),
                point.value.clone(),
            )
        })
        .collect();
    points.sort_by(|a, b| a.0.cmp(&b.0));
    points
}

fn sum(snapshot: &Snapshot, name: &str, tenant: &str) -> Option<Number> {
    points(snapshot, name).into_iter().find(|(t, _)| t == &format!("tenant={tenant}")).map(|(_, value)| match value {
        PointValue::Sum(number) | PointValue::Gauge(number) => number,
        PointValue::Histogram(_) => panic!("{name} is a histogram"),
    })
}

#[test]
fn recordings_from_many_threads_and_through_bound_handles_sum_exactly() {
    static META: InstrumentMeta = meta("test.sum.threads", InstrumentKind::Counter, ValueKind::U64, &[]);
    static ORDERS: Counter<u64> = Counter::new(&META);
    let _turn = collecting();
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            scope.spawn(move || {
                let tenant = format!("t{}", thread % 2);
                let bound = ORDERS.bind(&RouteTenant { route: "/bound", tenant: "bound" });
                for _ in 0..10_000 {
                    ORDERS.add(thread + 1, &RouteTenant { route: "/checkout", tenant: &tenant });
                    bound.add(1);
                }
            });
        }
    });
    // The threads have exited: their shards are folded into the exited threads' totals.
    let snapshot = collect(Collection::Scrape);
    assert_eq!(sum(&snapshot, "test.sum.threads", "t0"), Some(Number::U64(10_000 * (1 + 3))));
    assert_eq!(sum(&snapshot, "test.sum.threads", "t1"), Some(Number::U64(10_000 * (2 + 4))));
    assert_eq!(sum(&snapshot, "test.sum.threads", "bound"), Some(Number::U64(40_000)));
    // And stay there at the next collection, the shards having been freed.
    let again = collect(Collection::Scrape);
    assert_eq!(points(&again, "test.sum.threads"), points(&snapshot, "test.sum.threads"));
}

#[test]
fn a_collector_reading_while_threads_record_sees_every_series_only_grow_and_ends_on_the_total() {
    static META: InstrumentMeta = meta("test.sum.stress", InstrumentKind::Counter, ValueKind::U64, &[]);
    static HITS: Counter<u64> = Counter::new(&META);
    static HIST_META: InstrumentMeta =
        meta("test.histogram.stress", InstrumentKind::Histogram, ValueKind::U64, &[10.0, 100.0]);
    static SIZES: Histogram<u64> = Histogram::new(&HIST_META);
    let _turn = collecting();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (last_sum, last_count) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4u64)
            .map(|thread| {
                scope.spawn(move || {
                    // Short-lived threads too: shards retire while the collector reads.
                    for round in 0..20u64 {
                        std::thread::scope(|inner| {
                            inner.spawn(|| {
                                for i in 0..2_000u64 {
                                    HITS.add(1, &RouteTenant { route: "/", tenant: "stress" });
                                    SIZES.record(
                                        (i + round + thread) % 150,
                                        &RouteTenant { route: "/", tenant: "stress" },
                                    );
                                }
                            });
                        });
                    }
                })
            })
            .collect();
        let collector = scope.spawn(|| {
            let (mut last_sum, mut last_count) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let snapshot = collect(Collection::Scrape);
                if let Some(Number::U64(sum)) = sum(&snapshot, "test.sum.stress", "stress") {
                    assert!(sum >= last_sum, "a cumulative sum went back: {sum} after {last_sum}");
                    last_sum = sum;
                }
                if let Some((_, PointValue::Histogram(histogram))) = points(&snapshot, "test.histogram.stress").pop() {
                    assert_eq!(histogram.counts.iter().sum::<u64>(), histogram.count);
                    assert!(histogram.count >= last_count, "a histogram count went back");
                    last_count = histogram.count;
                }
            }
            (last_sum, last_count)
        });
        for writer in writers {
            writer.join().expect("writer");
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        collector.join().expect("collector")
    });
    let total = 4 * 20 * 2_000;
    assert!(last_sum <= total && last_count <= total);
    let snapshot = collect(Collection::Scrape);
    assert_eq!(sum(&snapshot, "test.sum.stress", "stress"), Some(Number::U64(total)));
    let Some((_, PointValue::Histogram(histogram))) = points(&snapshot, "test.histogram.stress").pop() else {
        panic!("no histogram point")
    };
    assert_eq!(histogram.count, total);
}

#[test]
fn a_histogram_counts_a_value_equal_to_a_bound_in_that_bounds_bucket() {
    static META: InstrumentMeta =
        meta("test.histogram.bounds", InstrumentKind::Histogram, ValueKind::F64, &[1.0, 2.0, 5.0]);
    static LATENCY: Histogram<f64> = Histogram::new(&META);
    let _turn = collecting();
    let attributes = RouteTenant { route: "/", tenant: "bounds" };
    for value in [-3.0, 0.5, 1.0, 1.5, 2.0, 5.0, 5.5, 100.0] {
        LATENCY.record(value, &attributes);
    }
    LATENCY.record(f64::NAN, &attributes);
    let snapshot = collect(Collection::Scrape);
    let Some((_, PointValue::Histogram(histogram))) = points(&snapshot, "test.histogram.bounds").pop() else {
        panic!("no histogram point")
    };
    assert_eq!(histogram.counts, [3, 2, 1, 2]);
    assert_eq!(histogram.count, 8);
    assert_eq!(histogram.sum, 112.5);
    assert_eq!((histogram.min, histogram.max), (-3.0, 100.0));
}

#[test]
fn a_gauge_keeps_the_last_value_set_by_any_thread() {
    static META: InstrumentMeta = meta("test.gauge", InstrumentKind::Gauge, ValueKind::I64, &[]);
    static DEPTH: Gauge<i64> = Gauge::new(&META);
    let _turn = collecting();
    let attributes = RouteTenant { route: "/", tenant: "gauge" };
    std::thread::scope(|scope| {
        scope.spawn(|| DEPTH.record(7, &attributes));
    });
    assert_eq!(sum(&collect(Collection::Scrape), "test.gauge", "gauge"), Some(Number::I64(7)));
    DEPTH.record(-2, &attributes);
    assert_eq!(sum(&collect(Collection::Scrape), "test.gauge", "gauge"), Some(Number::I64(-2)));
    std::thread::scope(|scope| {
        scope.spawn(|| DEPTH.record(11, &attributes));
    });
    assert_eq!(sum(&collect(Collection::Scrape), "test.gauge", "gauge"), Some(Number::I64(11)));
}

#[test]
fn an_up_down_counter_goes_below_zero() {
    static META: InstrumentMeta = meta("test.updown", InstrumentKind::UpDownCounter, ValueKind::I64, &[]);
    static QUEUE: UpDownCounter<i64> = UpDownCounter::new(&META);
    let _turn = collecting();
    let attributes = RouteTenant { route: "/", tenant: "updown" };
    QUEUE.add(3, &attributes);
    std::thread::scope(|scope| {
        scope.spawn(|| QUEUE.add(-5, &attributes));
    });
    assert_eq!(sum(&collect(Collection::Scrape), "test.updown", "updown"), Some(Number::I64(-2)));
}

#[test]
fn sets_past_the_cardinality_limit_go_to_one_overflow_series_and_are_counted() {
    static META: InstrumentMeta = meta("test.cardinality", InstrumentKind::Counter, ValueKind::U64, &[]);
    static REQUESTS: Counter<u64> = Counter::new(&META);
    let _turn = collecting();
    let overflowed_before = stats::get(Stat::MetricMeasurementsOverflowed);
    let limit = registry::DEFAULT_CARDINALITY_LIMIT;
    for i in 0..limit + 500 {
        REQUESTS.add(1, &RouteTenant { route: "/", tenant: &format!("user-{i}") });
    }
    // A set kept before the limit was reached keeps its own series.
    REQUESTS.add(1, &RouteTenant { route: "/", tenant: "user-0" });
    let snapshot = collect(Collection::Scrape);
    let metric = snapshot.metrics.iter().find(|metric| metric.meta.name == "test.cardinality").expect("metric");
    assert_eq!(metric.points.len(), limit + 1, "the limit's sets and the overflow series");
    let overflow: Vec<_> = metric
        .points
        .iter()
        .filter(|point| {
            point
                .attributes
                .iter()
                .any(|(key, value)| key.wire_name() == "otel.metric.overflow" && value.to_string() == "true")
        })
        .collect();
    assert_eq!(overflow.len(), 1);
    assert_eq!(overflow[0].value, PointValue::Sum(Number::U64(500)));
    assert_eq!(overflow[0].attributes.len(), 1, "the overflow series carries only otel.metric.overflow");
    assert_eq!(sum(&snapshot, "test.cardinality", "user-0"), Some(Number::U64(2)));
    let total: u64 =
        metric.points.iter().map(|point| if let PointValue::Sum(Number::U64(v)) = point.value { v } else { 0 }).sum();
    assert_eq!(total, limit as u64 + 501, "every recording counted exactly once");
    assert!(stats::get(Stat::MetricMeasurementsOverflowed) >= overflowed_before + 500);
}

#[test]
fn values_no_instrument_can_take_are_dropped_and_counted() {
    static META: InstrumentMeta = meta("test.invalid", InstrumentKind::Counter, ValueKind::F64, &[]);
    static BYTES: Counter<f64> = Counter::new(&META);
    let _turn = collecting();
    let before = stats::get(Stat::MetricMeasurementsInvalid);
    let attributes = RouteTenant { route: "/", tenant: "invalid" };
    BYTES.add(1.5, &attributes);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        BYTES.add(bad, &attributes);
        BYTES.bind(&attributes).add(bad);
    }
    assert_eq!(sum(&collect(Collection::Scrape), "test.invalid", "invalid"), Some(Number::F64(1.5)));
    assert!(stats::get(Stat::MetricMeasurementsInvalid) >= before + 6);
}

#[test]
fn an_observable_reports_what_its_callback_observes_and_a_panicking_one_is_counted() {
    static META: InstrumentMeta = meta("test.observable", InstrumentKind::ObservableGauge, ValueKind::U64, &[]);
    static OPEN: Observable<u64, RouteTenantSchema> = Observable::new(&META, |observer| {
        observer.record(3, RouteTenant { route: "/", tenant: "a" });
        observer.record(u64::MAX, RouteTenant { route: "/", tenant: "b" });
    });
    static PANIC_META: InstrumentMeta =
        meta("test.observable.panics", InstrumentKind::ObservableCounter, ValueKind::U64, &[]);
    static PANICS: Observable<u64, RouteTenantSchema> = Observable::new(&PANIC_META, panicking);
    fn panicking(_: &mut Observer<'_, u64, RouteTenantSchema>) {
        panic!("the callback fails");
    }
    let _turn = collecting();
    OPEN.register();
    OPEN.register();
    PANICS.register();
    let failed_before = stats::get(Stat::MetricCallbacksFailed);
    let snapshot = collect(Collection::Scrape);
    assert_eq!(
        points(&snapshot, "test.observable"),
        [
            ("tenant=a".to_owned(), PointValue::Gauge(Number::U64(3))),
            ("tenant=b".to_owned(), PointValue::Gauge(Number::U64(u64::MAX)))
        ]
    );
    assert!(points(&snapshot, "test.observable.panics").is_empty());
    assert!(stats::get(Stat::MetricCallbacksFailed) > failed_before);
}
