//! The `console` metrics exporter: each collection as a table on standard output, for
//! development.
//!
//! One row per series: the instrument and its unit, the attributes, and the value since `init`
//! with what it gained since the previous table (`7 (+3)`); a histogram shows its count, sum, the buckets
//! its median and 99th percentile fall in, and its largest value. Text from the program (names,
//! attribute values) is escaped as every line spanscope prints is, so that it cannot move the
//! cursor or restyle the terminal.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use crate::export::{ExportError, Exporter, Sent};
use crate::metrics::snapshot::{HistogramPoint, Number, PointValue, Snapshot};
use crate::stderr::escape;

#[derive(Debug)]
pub(crate) struct MetricsConsole<W: Write + Send + std::fmt::Debug> {
    out: W,
    interval: Duration,
    /// `OTEL_METRIC_EXPORT_TIMEOUT`.
    timeout: Duration,
    /// Each series' value (a histogram's count) in the previous table, by series.
    previous: HashMap<u32, Number>,
}

impl<W: Write + Send + std::fmt::Debug> MetricsConsole<W> {
    pub(crate) fn new(out: W, interval: Duration, timeout: Duration) -> Self {
        Self { out, interval, timeout, previous: HashMap::new() }
    }
}

impl<W: Write + Send + std::fmt::Debug + 'static> Exporter for MetricsConsole<W> {
    type Load = Snapshot;
    /// The table; empty for a collection with no points.
    type Payload = String;

    fn name(&self) -> &str {
        "console (metrics)"
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, snapshot: &Snapshot) -> String {
        if snapshot.metrics.is_empty() {
            return String::new();
        }
        let mut rows: Vec<[String; 3]> = Vec::new();
        for metric in &snapshot.metrics {
            let meta = metric.meta;
            let instrument = match meta.unit {
                "" => escape(meta.name),
                unit => format!("{} {}", escape(meta.name), escape(unit)),
            };
            for point in &metric.points {
                let attributes: Vec<String> = point
                    .attributes
                    .iter()
                    .map(|(key, value)| format!("{}={}", escape(key.wire_name()), escape(&value.to_string())))
                    .collect();
                let (now, value) = match &point.value {
                    PointValue::Sum(number) => (*number, with_gain(*number, self.previous.get(&point.series))),
                    PointValue::Gauge(number) => (*number, number_text(*number)),
                    PointValue::Histogram(histogram) => {
                        let count = Number::U64(histogram.count);
                        (count, histogram_text(histogram, self.previous.get(&point.series)))
                    }
                };
                self.previous.insert(point.series, now);
                rows.push([instrument.clone(), attributes.join(" "), value]);
            }
        }
        let width = |column: usize| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0);
        let (name_width, attributes_width) = (width(0).max("instrument".len()), width(1).max("attributes".len()));
        let mut table = format!(
            "spanscope metrics  {} UTC  (totals since {} UTC, every {:?})\n",
            time_of_day(snapshot.time_unix_nanos),
            time_of_day(snapshot.start_unix_nanos),
            self.interval
        );
        let _ = writeln!(table, "{:name_width$}  {:attributes_width$}  value", "instrument", "attributes");
        for [instrument, attributes, value] in rows {
            let _ = writeln!(table, "{instrument:name_width$}  {attributes:attributes_width$}  {value}");
        }
        table
    }

    async fn send(&mut self, table: &String) -> Result<Sent, ExportError> {
        self.out.write_all(table.as_bytes()).map_err(ExportError::Io)?;
        Ok(Sent::default())
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }

    fn shutdown(&mut self) {
        let _ = self.out.flush();
    }
}

/// `HH:MM:SS` of a Unix time, UTC.
fn time_of_day(unix_nanos: u64) -> String {
    let seconds = unix_nanos / 1_000_000_000 % 86_400;
    format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

fn number_text(number: Number) -> String {
    match number {
        Number::U64(v) => v.to_string(),
        Number::I64(v) => v.to_string(),
        Number::F64(v) => v.to_string(),
    }
}

/// `7 (+3)`: the value and what it gained since `previous`, if it was shown before.
fn with_gain(now: Number, previous: Option<&Number>) -> String {
    let gain = match (now, previous) {
        (Number::U64(now), Some(Number::U64(then))) => format!("{:+}", i128::from(now) - i128::from(*then)),
        (Number::I64(now), Some(Number::I64(then))) => format!("{:+}", i128::from(now) - i128::from(*then)),
        (Number::F64(now), Some(Number::F64(then))) => format!("{:+}", now - then),
        _ => return number_text(now),
    };
    format!("{} ({gain})", number_text(now))
}

/// `count 12 (+4)  sum 3.5  p50 ≤ 0.25  p99 ≤ 1  max 0.9`.
fn histogram_text(histogram: &HistogramPoint, previous: Option<&Number>) -> String {
    let mut text = format!("count {}", with_gain(Number::U64(histogram.count), previous));
    if histogram.count == 0 {
        return text;
    }
    let _ = write!(text, "  sum {}", histogram.sum);
    for (name, quantile) in [("p50", 0.5), ("p99", 0.99)] {
        let _ = write!(text, "  {name} {}", bucket_of(histogram, quantile));
    }
    let _ = write!(text, "  max {}", histogram.max);
    text
}

/// The bucket the `quantile` of the recorded values falls in, by its bounds: `≤ 0.25`, or
/// `> 10` for the last.
fn bucket_of(histogram: &HistogramPoint, quantile: f64) -> String {
    let rank = (quantile * histogram.count as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (index, count) in histogram.counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return match histogram.bounds.get(index) {
                Some(bound) => format!("≤ {bound}"),
                None => format!("> {}", histogram.bounds.last().copied().unwrap_or(f64::NEG_INFINITY)),
            };
        }
    }
    format!("≤ {}", histogram.max)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::snapshot::{Metric, Point, Temporality};
    use crate::metrics::{InstrumentKind, InstrumentMeta, ValueKind};
    use crate::tag::{TagMeta, TagValue};

    static ROUTE: TagMeta = TagMeta::new("route", "http.route");
    static ORDERS: InstrumentMeta = InstrumentMeta {
        name: "shop.orders",
        unit: "{order}",
        description: "",
        kind: InstrumentKind::Counter,
        value: ValueKind::U64,
        scope: ("shop", ""),
        buckets: &[],
    };
    static DURATION: InstrumentMeta = InstrumentMeta {
        name: "shop.duration",
        unit: "s",
        description: "",
        kind: InstrumentKind::Histogram,
        value: ValueKind::F64,
        scope: ("shop", ""),
        buckets: &[0.1, 1.0],
    };

    fn snapshot(orders: u64, counts: [u64; 3]) -> Snapshot {
        let route = Arc::from(vec![(&ROUTE, TagValue::from("/check\u{1b}[31mout"))]);
        let count = counts.iter().sum();
        let histogram =
            HistogramPoint { bounds: &[0.1, 1.0], counts: counts.to_vec(), count, sum: 2.5, min: 0.05, max: 1.5 };
        Snapshot {
            start_unix_nanos: 0,
            time_unix_nanos: 3_723_000_000_000,
            metrics: vec![
                Metric {
                    meta: &ORDERS,
                    temporality: Temporality::Cumulative,
                    start_unix_nanos: 0,
                    points: vec![Point {
                        series: 0,
                        attributes: route,
                        value: PointValue::Sum(Number::U64(orders)),
                        exemplars: Vec::new(),
                    }],
                },
                Metric {
                    meta: &DURATION,
                    temporality: Temporality::Cumulative,
                    start_unix_nanos: 0,
                    points: vec![Point {
                        series: 1,
                        attributes: Arc::from(Vec::new()),
                        value: PointValue::Histogram(histogram),
                        exemplars: Vec::new(),
                    }],
                },
            ],
        }
    }

    #[test]
    fn a_collection_is_a_table_with_totals_and_gains() {
        let mut console = MetricsConsole::new(Vec::new(), Duration::from_secs(60), Duration::from_secs(30));
        let first = console.encode(&snapshot(4, [1, 1, 0]));
        let second = console.encode(&snapshot(7, [1, 2, 1]));
        assert_eq!(
            first,
            "spanscope metrics  01:02:03 UTC  (totals since 00:00:00 UTC, every 60s)\n\
             instrument           attributes                      value\n\
             shop.orders {order}  http.route=/check\\u{1b}[31mout  4\n\
             shop.duration s                                      count 2  sum 2.5  p50 ≤ 0.1  p99 ≤ 1  max 1.5\n"
        );
        let rows: Vec<&str> = second.lines().skip(2).collect();
        assert!(rows[0].ends_with("  7 (+3)"), "{second}");
        assert!(rows[1].ends_with("count 4 (+2)  sum 2.5  p50 ≤ 1  p99 > 1  max 1.5"), "{second}");
        assert_eq!(console.encode(&Snapshot { start_unix_nanos: 0, time_unix_nanos: 1, metrics: Vec::new() }), "");
    }
}
