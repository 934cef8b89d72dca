//! DogStatsD lines (DataDog/documentation `developers/dogstatsd/datagram_shell.md`):
//! `<name>:<value>|<type>[|@<rate>]|#<tag>,<tag>`, and their packing into datagrams.
//!
//! Each snapshot comes here with counters and histograms already turned into deltas since the
//! previous one encoded (see [`temporality`](crate::export::metrics::temporality)):
//!
//! - Counter, ObservableCounter: `c`, the delta (a series that did not change sends no line).
//! - UpDownCounter, Gauge and their observable kinds: `g`, the current value.
//! - Histogram: `d`, one line per bucket that counted values since the previous snapshot, with
//!   the bucket's midpoint as the value (the first bucket, open below, its `min`; the last, open
//!   above, its `max`; the only bucket of a histogram without bounds, the mean) and the sample
//!   rate `@<1/count>`, which the agent undoes by weighting the value `count` times. Counts are
//!   exact; values are known to the bucket, as the histogram itself knows them.
//!
//! Names are the instrument's, characters other than `[A-Za-z0-9_.]` replaced by `_`. Tags are
//! the constant `env`, `service`, `version` (when known), then each attribute as `key:value`;
//! `|`, `,`, `#`, line breaks (and `:` in keys) are replaced by `_`, so that no value can end a
//! field or a line. Names and tags are cut at [`MAX_NAME`] and [`MAX_TAG`] bytes, the lengths
//! Datadog keeps. A value that is NaN or infinite sends no line.
//!
//! Lines are joined by `\n` into datagrams of at most the transport's payload, never splitting a
//! line; a line longer than that goes alone (the socket then says whether it fits).

use std::fmt::Write as _;

use crate::metrics::snapshot::{HistogramPoint, Number, Point, PointValue, Snapshot};
use crate::metrics::InstrumentKind;
use crate::tag::TagValue;

/// The longest metric name Datadog keeps.
pub(crate) const MAX_NAME: usize = 200;
/// The longest tag (`key:value`) Datadog keeps.
pub(crate) const MAX_TAG: usize = 200;

/// One datagram's text and the points it carries (a point counts in the datagram holding its
/// first line), for counting what a failed send drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Datagram {
    pub text: Vec<u8>,
    pub points: u64,
}

/// Writes the lines of `snapshot` (deltas where the module says so), tagged with `constant`
/// tags first, packed into datagrams of at most `max_payload` bytes.
pub(crate) fn encode(snapshot: &Snapshot, constant: &[String], max_payload: usize) -> Vec<Datagram> {
    let mut packer = Packer { max_payload, datagrams: Vec::new() };
    let mut line = String::new();
    let mut tags = String::new();
    for metric in &snapshot.metrics {
        let mut name = String::new();
        push_cut(&mut name, MAX_NAME, metric.meta.name.chars().map(name_char));
        for point in &metric.points {
            tags.clear();
            push_tags(&mut tags, constant, point);
            let mut first = true;
            for_each_value(metric.meta.kind, point, |value, kind, count| {
                line.clear();
                let _ = write!(line, "{name}:{value}|{kind}");
                if count > 1 {
                    let _ = write!(line, "|@{}", Text(Number::F64(sample_rate(count))));
                }
                line.push_str(&tags);
                packer.push(line.as_bytes(), std::mem::replace(&mut first, false));
            });
        }
    }
    packer.datagrams
}

/// Calls `line(value, type, count)` for each line `point` sends: `count` is how many values the
/// line stands for (more than one only for histogram buckets).
fn for_each_value(kind: InstrumentKind, point: &Point, mut line: impl FnMut(Text, &str, u64)) {
    let finite = |number: Number| match number {
        Number::F64(v) if !v.is_finite() => None,
        number => Some(Text(number)),
    };
    match &point.value {
        PointValue::Sum(number) if kind.is_monotonic() => finite(*number).into_iter().for_each(|v| line(v, "c", 1)),
        PointValue::Sum(number) | PointValue::Gauge(number) => {
            finite(*number).into_iter().for_each(|v| line(v, "g", 1))
        }
        PointValue::Histogram(histogram) => {
            for (bucket, &count) in histogram.counts.iter().enumerate() {
                let value = representative(histogram, bucket);
                if count > 0 && value.is_finite() {
                    line(Text(Number::F64(value)), "d", count);
                }
            }
        }
    }
}

/// The value a bucket's counts stand for: its midpoint, or for the buckets open on one side
/// the extreme recorded on that side.
fn representative(histogram: &HistogramPoint, bucket: usize) -> f64 {
    let bounds = histogram.bounds;
    match (bucket.checked_sub(1).map(|below| bounds[below]), bounds.get(bucket)) {
        (Some(lower), Some(&upper)) => lower + (upper - lower) / 2.0,
        (None, Some(_)) => histogram.min,
        (Some(_), None) => histogram.max,
        (None, None) => histogram.sum / histogram.count as f64,
    }
}

/// The sample rate that makes the agent count a value `count` times: `1/count`, taken a step
/// lower where rounding would make the agent's `1/rate` fall short of `count`.
fn sample_rate(count: u64) -> f64 {
    let count = count as f64;
    let rate = 1.0 / count;
    if 1.0 / rate < count {
        f64::from_bits(rate.to_bits() - 1)
    } else {
        rate
    }
}

/// A number as DogStatsD reads it: integers exact, floats in the fewest characters Go's
/// `ParseFloat` reads back exactly, in exponent notation when very large or very small.
struct Text(Number);

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Number::U64(v) => write!(f, "{v}"),
            Number::I64(v) => write!(f, "{v}"),
            Number::F64(v) if v != 0.0 && !(1e-6..1e16).contains(&v.abs()) => write!(f, "{v:e}"),
            Number::F64(v) => write!(f, "{v}"),
        }
    }
}

/// `|#` and the tags of `point`, after the `constant` ones.
fn push_tags(out: &mut String, constant: &[String], point: &Point) {
    let mut first = true;
    let mut separator = |out: &mut String| out.push_str(if std::mem::replace(&mut first, false) { "|#" } else { "," });
    for tag in constant {
        separator(out);
        out.push_str(tag);
    }
    for (key, value) in point.attributes.iter() {
        separator(out);
        out.push_str(&tag(key.wire_name(), value));
    }
}

/// One tag, `key:value`, its characters made safe and its length bounded.
pub(crate) fn tag(key: &str, value: &TagValue) -> String {
    let mut out = String::new();
    let key = key.chars().map(|c| if c == ':' { '_' } else { tag_char(c) });
    let value = value.to_string();
    push_cut(&mut out, MAX_TAG, key.chain(std::iter::once(':')).chain(value.chars().map(tag_char)));
    out
}

/// Pushes `chars` onto `out` up to `max` bytes, never cutting a character.
fn push_cut(out: &mut String, max: usize, chars: impl Iterator<Item = char>) {
    for c in chars {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
}

fn name_char(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
        c
    } else {
        '_'
    }
}

/// A tag's character, unless it would end a field, the tag list or the line.
fn tag_char(c: char) -> char {
    match c {
        '|' | ',' | '#' | '\n' | '\r' => '_',
        c => c,
    }
}

/// Joins lines into datagrams.
struct Packer {
    max_payload: usize,
    datagrams: Vec<Datagram>,
}

impl Packer {
    /// Adds a line, in the last datagram if it fits there, else in a new one; `new_point` when
    /// it is its point's first.
    fn push(&mut self, line: &[u8], new_point: bool) {
        let fits = |d: &Datagram| d.text.len() + 1 + line.len() <= self.max_payload;
        let datagram = match self.datagrams.last_mut() {
            Some(last) if fits(last) => {
                last.text.push(b'\n');
                last
            }
            _ => {
                self.datagrams.push(Datagram { text: Vec::with_capacity(self.max_payload), points: 0 });
                self.datagrams.last_mut().expect("just pushed")
            }
        };
        datagram.text.extend_from_slice(line);
        datagram.points += u64::from(new_point);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::snapshot::{Metric, Temporality};
    use crate::metrics::{InstrumentMeta, ValueKind};
    use crate::tag::TagMeta;

    const fn meta(name: &'static str, kind: InstrumentKind, value: ValueKind) -> InstrumentMeta {
        InstrumentMeta { name, unit: "", description: "", kind, value, scope: ("tests", "0.0.0"), buckets: &[1.0, 3.0] }
    }

    static ORDERS: InstrumentMeta = meta("shop.orders", InstrumentKind::Counter, ValueKind::U64);
    static QUEUE: InstrumentMeta = meta("shop/queue-depth", InstrumentKind::UpDownCounter, ValueKind::I64);
    static TEMPERATURE: InstrumentMeta = meta("shop.temperature", InstrumentKind::Gauge, ValueKind::F64);
    static LATENCY: InstrumentMeta = meta("shop.latency", InstrumentKind::Histogram, ValueKind::F64);
    static ROUTE: TagMeta = TagMeta::new("route", "http.route");
    static ODD_KEY: TagMeta = TagMeta::new("odd", "a:b|c");

    fn point(series: u32, attributes: Vec<(&'static TagMeta, TagValue)>, value: PointValue) -> Point {
        Point { series, attributes: attributes.into(), value, exemplars: Vec::new() }
    }

    fn snapshot(metrics: Vec<(&'static InstrumentMeta, Vec<Point>)>) -> Snapshot {
        let metric = |(meta, points)| Metric { meta, temporality: Temporality::Delta, start_unix_nanos: 0, points };
        Snapshot { start_unix_nanos: 0, time_unix_nanos: 1, metrics: metrics.into_iter().map(metric).collect() }
    }

    fn text(datagrams: &[Datagram]) -> Vec<String> {
        datagrams.iter().map(|d| String::from_utf8(d.text.clone()).unwrap()).collect()
    }

    #[test]
    fn each_kind_has_its_type_and_constant_tags_come_first() {
        let histogram =
            HistogramPoint { bounds: &[1.0, 3.0], counts: vec![1, 4, 3], count: 8, sum: 20.0, min: 0.25, max: 9.5 };
        let snapshot = snapshot(vec![
            (&ORDERS, vec![point(0, vec![(&ROUTE, TagValue::from("/checkout"))], PointValue::Sum(Number::U64(3)))]),
            (&QUEUE, vec![point(1, vec![], PointValue::Sum(Number::I64(-2)))]),
            (&TEMPERATURE, vec![point(2, vec![], PointValue::Gauge(Number::F64(21.5)))]),
            (&LATENCY, vec![point(3, vec![], PointValue::Histogram(histogram))]),
        ]);
        let constant = ["env:prod".to_owned(), "service:shop".to_owned()];
        let datagrams = encode(&snapshot, &constant, 1432);
        assert_eq!(
            text(&datagrams),
            ["shop.orders:3|c|#env:prod,service:shop,http.route:/checkout\n\
              shop_queue_depth:-2|g|#env:prod,service:shop\n\
              shop.temperature:21.5|g|#env:prod,service:shop\n\
              shop.latency:0.25|d|#env:prod,service:shop\n\
              shop.latency:2|d|@0.25|#env:prod,service:shop\n\
              shop.latency:9.5|d|@0.3333333333333333|#env:prod,service:shop"]
        );
        assert_eq!(datagrams[0].points, 4, "a histogram's lines are one point");
        let bare = encode(&snapshot, &[], 1432);
        assert!(
            text(&bare)[0].starts_with("shop.orders:3|c|#http.route:/checkout\nshop_queue_depth:-2|g\n"),
            "{bare:?}"
        );
    }

    #[test]
    fn values_that_are_not_numbers_send_no_line_and_extremes_stay_short() {
        let points = [f64::NAN, f64::INFINITY, 1e300, -2.5e-9, 0.0]
            .into_iter()
            .enumerate()
            .map(|(series, v)| point(series as u32, vec![], PointValue::Gauge(Number::F64(v))))
            .collect();
        let lines = text(&encode(&snapshot(vec![(&TEMPERATURE, points)]), &[], 1432));
        assert_eq!(lines, ["shop.temperature:1e300|g\nshop.temperature:-2.5e-9|g\nshop.temperature:0|g"]);
    }

    #[test]
    fn sample_rates_make_the_agent_count_each_bucket_exactly() {
        for count in (1..=100_000).chain([u64::from(u32::MAX), 1 << 53]) {
            let rate: f64 = Text(Number::F64(sample_rate(count))).to_string().parse().unwrap();
            let weight = 1.0 / rate;
            assert!(weight >= count as f64 && weight - (count as f64) < 0.5, "{count}: 1/{rate} = {weight}");
        }
    }

    #[test]
    fn tags_cannot_break_the_line_and_names_and_tags_are_bounded() {
        let hostile = TagValue::from("a|b,c#d\ne\rf:g é");
        assert_eq!(tag(ODD_KEY.wire_name(), &hostile), "a_b_c:a_b_c_d_e_f:g é");
        let long = TagValue::from("é".repeat(70_000));
        let cut = tag("k", &long);
        assert!(cut.len() <= MAX_TAG && cut.len() > MAX_TAG - 2 && cut.starts_with("k:é"), "{}", cut.len());
        static LONG: InstrumentMeta = meta(
            "a.very.long.name.that.goes.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on.and.on",
            InstrumentKind::Counter,
            ValueKind::U64,
        );
        let lines =
            text(&encode(&snapshot(vec![(&LONG, vec![point(0, vec![], PointValue::Sum(Number::U64(1)))])]), &[], 1432));
        assert_eq!(lines[0].split_once(':').unwrap().0.len(), MAX_NAME);
    }

    #[test]
    fn lines_are_packed_up_to_the_payload_and_never_split() {
        let points: Vec<Point> = (0..100)
            .map(|series| {
                point(
                    series,
                    vec![(&ROUTE, TagValue::from(format!("/route/{series}")))],
                    PointValue::Sum(Number::U64(7)),
                )
            })
            .collect();
        let snapshot = snapshot(vec![(&ORDERS, points)]);
        let datagrams = encode(&snapshot, &[], 200);
        let lines: Vec<String> =
            text(&datagrams).iter().flat_map(|d| d.split('\n').map(str::to_owned).collect::<Vec<_>>()).collect();
        assert_eq!(lines.len(), 100);
        assert!(lines.iter().enumerate().all(|(i, line)| *line == format!("shop.orders:7|c|#http.route:/route/{i}")));
        assert!(datagrams.len() > 1 && datagrams.iter().all(|d| d.text.len() <= 200), "{datagrams:?}");
        assert_eq!(datagrams.iter().map(|d| d.points).sum::<u64>(), 100);
        let first = datagrams[0].text.len();
        assert!(first + 1 + "shop.orders:7|c|#http.route:/route/NN".len() > 200, "the first datagram is full");
        let alone = encode(&snapshot, &[], 10);
        assert_eq!(alone.len(), 100, "a line longer than the payload goes alone");
    }
}
