//! Temporality: what an exporter sends of the cumulative snapshots the collector takes.
//!
//! Snapshots count since the run started. An exporter that sends deltas holds a
//! [`Temporalizer`], which keeps each series' last *encoded* cumulative value (by its series
//! number, stable for the process) and rewrites its copy of each snapshot: a delta is the
//! current value minus that one, its window starts at the previous encoded snapshot's time
//! (the run's start for the first), and a series that did not change is left out. Because a
//! delta is always taken against what was last encoded, an exporter only ever needs the newest
//! snapshot: one superseded before it was encoded is covered by the next one's deltas.
//!
//! Which instruments go as deltas is the exporter's [`Preference`], OpenTelemetry's
//! `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (OTLP exporter specification):
//!
//! | instrument | `cumulative` | `delta` | `lowmemory` |
//! |---|---|---|---|
//! | Counter, Histogram | Cumulative | Delta | Delta |
//! | ObservableCounter | Cumulative | Delta | Cumulative |
//! | UpDownCounter, ObservableUpDownCounter | Cumulative | Cumulative | Cumulative |
//! | Gauge, ObservableGauge | (no temporality) | | |
//!
//! Deltas of `u64` and `i64` sums wrap as the cells do; `f64` deltas of the monotonic sums are
//! clamped at 0 (shards summed in another order may round a total a hair below the previous
//! one). A delta histogram's buckets, count and sum are differences; its `min` and `max` stay
//! the cumulative extremes, which say whether a negative value was ever recorded but not the
//! interval's extremes, so encoders leave them out of delta points.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::metrics::snapshot::{HistogramPoint, Metric, Number, Point, PointValue, Snapshot, Temporality};
use crate::metrics::InstrumentKind;

/// Which instruments an exporter sends as deltas (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preference {
    Cumulative,
    Delta,
    LowMemory,
}

impl Preference {
    /// The variable's spellings (read in any case).
    pub(crate) const CHOICES: &[(&str, Preference)] =
        &[("cumulative", Self::Cumulative), ("delta", Self::Delta), ("lowmemory", Self::LowMemory)];

    /// How an instrument of `kind` is sent (gauges have no temporality: cumulative here, and
    /// encoders ignore it).
    pub(crate) fn temporality(self, kind: InstrumentKind) -> Temporality {
        use InstrumentKind::{Counter, Histogram, ObservableCounter};
        match (self, kind) {
            (Self::Delta, Counter | Histogram | ObservableCounter) | (Self::LowMemory, Counter | Histogram) => {
                Temporality::Delta
            }
            _ => Temporality::Cumulative,
        }
    }
}

/// One exporter's view of the snapshots it encodes: what it sent last, series by series.
#[derive(Debug)]
pub(crate) struct Temporalizer {
    preference: Preference,
    /// Each delta series' cumulative value in the last snapshot encoded, by series number.
    last: HashMap<u32, PointValue>,
    /// When the last snapshot encoded was taken; `None` before the first.
    previous: Option<u64>,
}

impl Temporalizer {
    pub(crate) fn new(preference: Preference) -> Self {
        Self { preference, last: HashMap::new(), previous: None }
    }

    /// `snapshot` as this exporter sends it; called once per snapshot encoded, in order.
    pub(crate) fn apply<'a>(&mut self, snapshot: &'a Snapshot) -> Cow<'a, Snapshot> {
        if self.preference == Preference::Cumulative {
            return Cow::Borrowed(snapshot);
        }
        let start = self.previous.replace(snapshot.time_unix_nanos).unwrap_or(snapshot.start_unix_nanos);
        let metrics = snapshot
            .metrics
            .iter()
            .filter_map(|metric| {
                let kind = metric.meta.kind;
                if self.preference.temporality(kind) == Temporality::Cumulative {
                    return Some(metric.clone());
                }
                let points: Vec<Point> = metric.points.iter().filter_map(|point| self.delta(kind, point)).collect();
                let delta =
                    Metric { meta: metric.meta, temporality: Temporality::Delta, start_unix_nanos: start, points };
                (!delta.points.is_empty()).then_some(delta)
            })
            .collect();
        Cow::Owned(Snapshot {
            start_unix_nanos: snapshot.start_unix_nanos,
            time_unix_nanos: snapshot.time_unix_nanos,
            metrics,
        })
    }

    /// The change of `point` since it was last encoded; `None` if it did not change.
    fn delta(&mut self, kind: InstrumentKind, point: &Point) -> Option<Point> {
        let value = match self.last.insert(point.series, point.value.clone()) {
            None => point.value.clone(),
            Some(last) => difference(kind.is_monotonic(), &point.value, &last),
        };
        let changed = match &value {
            PointValue::Sum(number) | PointValue::Gauge(number) => !is_zero(*number),
            PointValue::Histogram(histogram) => histogram.count > 0,
        };
        changed.then(|| Point {
            series: point.series,
            attributes: point.attributes.clone(),
            value,
            exemplars: point.exemplars.clone(),
        })
    }
}

/// `now − then` of one series.
fn difference(monotonic: bool, now: &PointValue, then: &PointValue) -> PointValue {
    match (now, then) {
        (PointValue::Sum(now), PointValue::Sum(then)) => PointValue::Sum(subtract(monotonic, *now, *then)),
        (PointValue::Histogram(now), PointValue::Histogram(then)) => {
            let counts: Vec<u64> =
                now.counts.iter().zip(&then.counts).map(|(now, then)| now.saturating_sub(*then)).collect();
            PointValue::Histogram(HistogramPoint {
                bounds: now.bounds,
                count: counts.iter().sum(),
                counts,
                sum: now.sum - then.sum,
                min: now.min,
                max: now.max,
            })
        }
        // A series keeps its kind; gauges are never sent as deltas.
        (now, _) => now.clone(),
    }
}

fn subtract(monotonic: bool, now: Number, then: Number) -> Number {
    match (now, then) {
        (Number::U64(now), Number::U64(then)) => Number::U64(now.wrapping_sub(then)),
        (Number::I64(now), Number::I64(then)) => Number::I64(now.wrapping_sub(then)),
        (Number::F64(now), Number::F64(then)) if monotonic => Number::F64((now - then).max(0.0)),
        (Number::F64(now), Number::F64(then)) => Number::F64(now - then),
        // A series keeps its value type.
        (now, _) => now,
    }
}

fn is_zero(number: Number) -> bool {
    match number {
        Number::U64(v) => v == 0,
        Number::I64(v) => v == 0,
        Number::F64(v) => v == 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{InstrumentMeta, ValueKind};

    const fn meta(kind: InstrumentKind, value: ValueKind) -> InstrumentMeta {
        InstrumentMeta {
            name: "test",
            unit: "",
            description: "",
            kind,
            value,
            scope: ("tests", "0.0.0"),
            buckets: &[1.0, 10.0],
        }
    }

    static COUNTER: InstrumentMeta = meta(InstrumentKind::Counter, ValueKind::U64);
    static F64_COUNTER: InstrumentMeta = meta(InstrumentKind::Counter, ValueKind::F64);
    static UP_DOWN: InstrumentMeta = meta(InstrumentKind::UpDownCounter, ValueKind::I64);
    static OBSERVED: InstrumentMeta = meta(InstrumentKind::ObservableCounter, ValueKind::U64);
    static GAUGE: InstrumentMeta = meta(InstrumentKind::Gauge, ValueKind::F64);
    static HISTOGRAM: InstrumentMeta = meta(InstrumentKind::Histogram, ValueKind::F64);

    fn point(series: u32, value: PointValue) -> Point {
        Point { series, attributes: Vec::new().into(), value, exemplars: Vec::new() }
    }

    fn snapshot(time: u64, metrics: Vec<(&'static InstrumentMeta, Vec<Point>)>) -> Snapshot {
        Snapshot {
            start_unix_nanos: 100,
            time_unix_nanos: time,
            metrics: metrics
                .into_iter()
                .map(|(meta, points)| Metric {
                    meta,
                    temporality: Temporality::Cumulative,
                    start_unix_nanos: 100,
                    points,
                })
                .collect(),
        }
    }

    fn histogram(counts: &[u64], sum: f64, min: f64, max: f64) -> PointValue {
        PointValue::Histogram(HistogramPoint {
            bounds: HISTOGRAM.buckets,
            counts: counts.to_vec(),
            count: counts.iter().sum(),
            sum,
            min,
            max,
        })
    }

    /// A metric as sent: its instrument's kind, temporality, start, and values by series.
    type Sent = (InstrumentKind, Temporality, u64, Vec<(u32, PointValue)>);

    fn sent(snapshot: &Snapshot) -> Vec<Sent> {
        let metrics = snapshot.metrics.iter();
        metrics
            .map(|m| {
                let points = m.points.iter().map(|p| (p.series, p.value.clone())).collect();
                (m.meta.kind, m.temporality, m.start_unix_nanos, points)
            })
            .collect()
    }

    #[test]
    fn the_preference_table_is_the_specifications() {
        use InstrumentKind::*;
        use Temporality::{Cumulative as C, Delta as D};
        let kinds = [Counter, Histogram, ObservableCounter, UpDownCounter, ObservableUpDownCounter];
        let table = [
            (Preference::Cumulative, [C, C, C, C, C]),
            (Preference::Delta, [D, D, D, C, C]),
            (Preference::LowMemory, [D, D, C, C, C]),
        ];
        for (preference, row) in table {
            for (kind, expected) in kinds.iter().zip(row) {
                assert_eq!(preference.temporality(*kind), expected, "{preference:?} {kind:?}");
            }
        }
    }

    #[test]
    fn cumulative_sends_the_snapshot_as_it_is() {
        let mut temporalizer = Temporalizer::new(Preference::Cumulative);
        let first = snapshot(200, vec![(&COUNTER, vec![point(0, PointValue::Sum(Number::U64(5)))])]);
        assert!(matches!(temporalizer.apply(&first), Cow::Borrowed(_)));
        assert!(matches!(temporalizer.apply(&first), Cow::Borrowed(_)));
    }

    #[test]
    fn deltas_are_the_change_since_the_last_encoded_snapshot() {
        let mut temporalizer = Temporalizer::new(Preference::Delta);
        let sums = |counter: u64, up_down: i64, gauge: f64| {
            vec![
                (&COUNTER, vec![point(0, PointValue::Sum(Number::U64(counter)))]),
                (&UP_DOWN, vec![point(1, PointValue::Sum(Number::I64(up_down)))]),
                (&GAUGE, vec![point(2, PointValue::Gauge(Number::F64(gauge)))]),
            ]
        };
        let first = temporalizer.apply(&snapshot(200, sums(5, -3, 1.5))).into_owned();
        assert_eq!(
            sent(&first),
            [
                (InstrumentKind::Counter, Temporality::Delta, 100, vec![(0, PointValue::Sum(Number::U64(5)))]),
                (
                    InstrumentKind::UpDownCounter,
                    Temporality::Cumulative,
                    100,
                    vec![(1, PointValue::Sum(Number::I64(-3)))]
                ),
                (InstrumentKind::Gauge, Temporality::Cumulative, 100, vec![(2, PointValue::Gauge(Number::F64(1.5)))]),
            ]
        );
        let second = temporalizer.apply(&snapshot(300, sums(12, -1, 1.5))).into_owned();
        assert_eq!(
            sent(&second),
            [
                (InstrumentKind::Counter, Temporality::Delta, 200, vec![(0, PointValue::Sum(Number::U64(7)))]),
                (
                    InstrumentKind::UpDownCounter,
                    Temporality::Cumulative,
                    100,
                    vec![(1, PointValue::Sum(Number::I64(-1)))]
                ),
                (InstrumentKind::Gauge, Temporality::Cumulative, 100, vec![(2, PointValue::Gauge(Number::F64(1.5)))]),
            ]
        );
        // Nothing changed: the counter is left out, the others are sent as they are.
        let third = temporalizer.apply(&snapshot(400, sums(12, -1, 1.5))).into_owned();
        assert_eq!(
            sent(&third).iter().map(|m| m.0).collect::<Vec<_>>(),
            [InstrumentKind::UpDownCounter, InstrumentKind::Gauge]
        );
        // The window of the next change starts at the last snapshot encoded.
        let fourth = temporalizer.apply(&snapshot(500, sums(13, -1, 1.5))).into_owned();
        assert_eq!(
            sent(&fourth)[0],
            (InstrumentKind::Counter, Temporality::Delta, 400, vec![(0, PointValue::Sum(Number::U64(1)))])
        );
    }

    #[test]
    fn series_are_told_apart_and_a_new_one_starts_from_zero() {
        let mut temporalizer = Temporalizer::new(Preference::Delta);
        let counter = |points: Vec<(u32, u64)>| {
            vec![(&COUNTER, points.into_iter().map(|(s, v)| point(s, PointValue::Sum(Number::U64(v)))).collect())]
        };
        temporalizer.apply(&snapshot(200, counter(vec![(0, 5)])));
        let second = temporalizer.apply(&snapshot(300, counter(vec![(0, 6), (7, 4)]))).into_owned();
        assert_eq!(sent(&second)[0].3, [(0, PointValue::Sum(Number::U64(1))), (7, PointValue::Sum(Number::U64(4)))]);
    }

    #[test]
    fn integer_deltas_wrap_and_float_counter_deltas_never_go_below_zero() {
        let mut temporalizer = Temporalizer::new(Preference::Delta);
        let sums = |u: u64, f: f64| {
            vec![
                (&COUNTER, vec![point(0, PointValue::Sum(Number::U64(u)))]),
                (&F64_COUNTER, vec![point(1, PointValue::Sum(Number::F64(f)))]),
            ]
        };
        temporalizer.apply(&snapshot(200, sums(u64::MAX - 1, 0.3)));
        let second = temporalizer.apply(&snapshot(300, sums(2, 0.1 + 0.2))).into_owned();
        // 0.1 + 0.2 rounds above 0.3: a tiny positive delta. Then a total rounded a hair lower.
        assert_eq!(sent(&second)[0].3, [(0, PointValue::Sum(Number::U64(4)))]);
        let third = temporalizer.apply(&snapshot(400, sums(2, 0.3))).into_owned();
        assert!(sent(&third).is_empty(), "{third:?}");
    }

    #[test]
    fn lowmemory_keeps_observable_counters_cumulative() {
        for (preference, expected) in [(Preference::Delta, 3), (Preference::LowMemory, 10)] {
            let mut temporalizer = Temporalizer::new(preference);
            let observed = |v: u64| vec![(&OBSERVED, vec![point(0, PointValue::Sum(Number::U64(v)))])];
            temporalizer.apply(&snapshot(200, observed(7)));
            let second = temporalizer.apply(&snapshot(300, observed(10))).into_owned();
            assert_eq!(sent(&second)[0].3, [(0, PointValue::Sum(Number::U64(expected)))], "{preference:?}");
        }
    }

    #[test]
    fn histogram_deltas_subtract_buckets_count_and_sum() {
        let mut temporalizer = Temporalizer::new(Preference::LowMemory);
        let h = |value: PointValue| vec![(&HISTOGRAM, vec![point(3, value)])];
        temporalizer.apply(&snapshot(200, h(histogram(&[1, 2, 0], 12.0, 0.5, 9.0))));
        let second = temporalizer.apply(&snapshot(300, h(histogram(&[1, 5, 1], 70.0, 0.5, 20.0)))).into_owned();
        assert_eq!(
            sent(&second),
            [(InstrumentKind::Histogram, Temporality::Delta, 200, vec![(3, histogram(&[0, 3, 1], 58.0, 0.5, 20.0))])]
        );
        let third = temporalizer.apply(&snapshot(400, h(histogram(&[1, 5, 1], 70.0, 0.5, 20.0)))).into_owned();
        assert!(sent(&third).is_empty());
    }
}
