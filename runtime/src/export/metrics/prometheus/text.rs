//! The exposition formats: Prometheus text 0.0.4, and OpenMetrics 1.0 with exemplars (only
//! OpenMetrics carries them). One function writes both; where they differ it says so.
//!
//! Every point carries `otel_scope_name` and `otel_scope_version`; the resource is a
//! `target_info` gauge of 1. Sums and histograms are cumulative, as Prometheus wants them.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::names::{label_name, Family};
use crate::export::resource::Resource;
use crate::metrics::snapshot::{Exemplar, Metric, Number, Point, PointValue, Snapshot};
use crate::metrics::InstrumentKind;
use crate::tag::TagValue;

/// Which exposition format a scraper gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The exemplar shown for each `(series, bucket)`: the latest a collection offered, kept across
/// scrapes (a collection only offers those of its own interval).
pub(crate) type Exemplars = HashMap<(u32, usize), Exemplar>;

/// Writes `snapshot` in `format`, updating and using `exemplars`.
pub(crate) fn encode(
    snapshot: &Snapshot,
    resource: &Resource,
    format: Format,
    exemplars: &mut Exemplars,
    out: &mut String,
) {
    let mut families: Vec<(String, InstrumentKind)> = Vec::new();
    for metric in &snapshot.metrics {
        let family = Family::of(metric.meta.name, metric.meta.unit);
        // Two instruments under one name: the first wins (a scraper rejects a family twice).
        if families.iter().any(|(name, _)| *name == family.name) {
            continue;
        }
        families.push((family.name.clone(), metric.meta.kind));
        write_metric(metric, &family, format, exemplars, out);
    }
    write_target_info(resource, out);
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
}

fn write_metric(metric: &Metric, family: &Family, format: Format, exemplars: &mut Exemplars, out: &mut String) {
    let meta = metric.meta;
    let (kind, counter) = match meta.kind {
        InstrumentKind::Counter | InstrumentKind::ObservableCounter => ("counter", true),
        InstrumentKind::Histogram => ("histogram", false),
        _ => ("gauge", false),
    };
    // Text 0.0.4 names a counter's family by its sample (`_total`); OpenMetrics without it.
    let declared = match (format, counter) {
        (Format::Text, true) => format!("{}_total", family.name),
        _ => family.name.clone(),
    };
    let _ = writeln!(out, "# TYPE {declared} {kind}");
    if format == Format::OpenMetrics {
        if let Some(unit) = &family.unit {
            let _ = writeln!(out, "# UNIT {declared} {unit}");
        }
    }
    if !meta.description.is_empty() {
        let _ = writeln!(out, "# HELP {declared} {}", escape(meta.description, format == Format::OpenMetrics));
    }
    let scope = [("otel_scope_name", meta.scope.0), ("otel_scope_version", meta.scope.1)];
    for point in &metric.points {
        let labels = labels(point, &scope);
        match &point.value {
            PointValue::Sum(number) | PointValue::Gauge(number) => {
                let name = if counter { format!("{}_total", family.name) } else { family.name.clone() };
                let _ = write!(out, "{name}{{{labels}}} {}", number_text(*number));
                if counter && format == Format::OpenMetrics {
                    if let Some(exemplar) = latest(exemplars, point, 0) {
                        write_exemplar(&exemplar, out);
                    }
                }
                out.push('\n');
            }
            PointValue::Histogram(histogram) => {
                let mut cumulative = 0;
                for (bucket, count) in histogram.counts.iter().enumerate() {
                    cumulative += count;
                    let le =
                        histogram.bounds.get(bucket).map_or_else(|| "+Inf".to_owned(), |bound| format!("{bound:?}"));
                    let separator = if labels.is_empty() { "" } else { "," };
                    let _ = write!(out, "{}_bucket{{{labels}{separator}le=\"{le}\"}} {cumulative}", family.name);
                    if format == Format::OpenMetrics {
                        if let Some(exemplar) = latest(exemplars, point, bucket) {
                            write_exemplar(&exemplar, out);
                        }
                    }
                    out.push('\n');
                }
                // A sum over negative values says nothing a counter could (the specification
                // leaves it out then).
                if histogram.count == 0 || histogram.min >= 0.0 {
                    let _ = writeln!(out, "{}_sum{{{labels}}} {}", family.name, float_text(histogram.sum));
                }
                let _ = writeln!(out, "{}_count{{{labels}}} {}", family.name, histogram.count);
            }
        }
    }
}

/// The exemplar to show for `bucket` of `point`: one this collection offered in that bucket,
/// else the one shown before.
fn latest(exemplars: &mut Exemplars, point: &Point, bucket: usize) -> Option<Exemplar> {
    let bounds = match &point.value {
        PointValue::Histogram(histogram) => histogram.bounds,
        _ => &[],
    };
    let offered = point
        .exemplars
        .iter()
        .filter(|exemplar| crate::metrics::bucket_of(bounds, exemplar.value.as_f64()) == bucket)
        .max_by_key(|exemplar| exemplar.time_unix_nanos);
    if let Some(offered) = offered {
        exemplars.insert((point.series, bucket), *offered);
    }
    exemplars.get(&(point.series, bucket)).copied()
}

/// ` # {trace_id="…",span_id="…",pyroscope_profile_id="…"} value timestamp`: 99 characters of
/// labels at most, within OpenMetrics' 128.
fn write_exemplar(exemplar: &Exemplar, out: &mut String) {
    out.push_str(" # {");
    if let Some((trace, span)) = exemplar.span {
        let _ = write!(out, "trace_id=\"{trace}\",span_id=\"{span}\"");
        if let Some(profile) = exemplar.profile {
            let _ = write!(out, ",pyroscope_profile_id=\"{profile}\"");
        }
    }
    let seconds = exemplar.time_unix_nanos / 1_000_000_000;
    let millis = exemplar.time_unix_nanos % 1_000_000_000 / 1_000_000;
    let _ = write!(out, "}} {} {seconds}.{millis:03}", number_text(exemplar.value));
}

/// A point's labels, `name="value"` joined by commas: its attributes (keys that sanitise to the
/// same name joined with `;`, in key order), then its scope.
fn labels(point: &Point, scope: &[(&str, &str)]) -> String {
    let mut named: Vec<(String, String)> = Vec::with_capacity(point.attributes.len() + scope.len());
    for (key, value) in point.attributes.iter() {
        let name = label_name(key.wire_name());
        let value = tag_text(value);
        match named.iter_mut().find(|(existing, _)| *existing == name) {
            Some((_, joined)) => {
                joined.push(';');
                joined.push_str(&value);
            }
            None => named.push((name, value)),
        }
    }
    named.extend(scope.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
    let mut out = String::new();
    for (index, (name, value)) in named.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{}\"", escape_label(value));
    }
    out
}

fn write_target_info(resource: &Resource, out: &mut String) {
    out.push_str("# TYPE target_info gauge\n# HELP target_info Target metadata\ntarget_info{");
    for (index, (key, value)) in resource.attributes.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}=\"{}\"", label_name(key), escape_label(&tag_text(value)));
    }
    out.push_str("} 1\n");
}

fn tag_text(value: &TagValue) -> String {
    value.to_string()
}

fn number_text(number: Number) -> String {
    match number {
        Number::U64(v) => v.to_string(),
        Number::I64(v) => v.to_string(),
        Number::F64(v) => float_text(v),
    }
}

/// A float as both formats write one: `+Inf`, `-Inf`, `NaN`, else Rust's shortest round trip.
fn float_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// A label value: `\`, `"` and line feeds escaped.
fn escape_label(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// HELP text: `\` and line feeds escaped, and `"` in OpenMetrics.
fn escape(text: &str, quotes: bool) -> String {
    let escaped = text.replace('\\', r"\\").replace('\n', r"\n");
    if quotes {
        escaped.replace('"', "\\\"")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::metrics::snapshot::{HistogramPoint, Temporality};
    use crate::metrics::{InstrumentMeta, ValueKind};
    use crate::tag::TagMeta;

    static ROUTE: TagMeta = TagMeta::new("route", "http.route");
    static QUOTE: TagMeta = TagMeta::new("quote", "quote");
    static ORDERS: InstrumentMeta = InstrumentMeta {
        name: "shop.orders",
        unit: "{order}",
        description: "Orders \"placed\".\nAll of them.",
        kind: InstrumentKind::Counter,
        value: ValueKind::U64,
        scope: ("shop", "0.1.0"),
        buckets: &[],
    };
    static LATENCY: InstrumentMeta = InstrumentMeta {
        name: "shop.latency",
        unit: "s",
        description: "",
        kind: InstrumentKind::Histogram,
        value: ValueKind::F64,
        scope: ("shop", "0.1.0"),
        buckets: &[0.1, 1.0],
    };
    static DEPTH: InstrumentMeta = InstrumentMeta {
        name: "queue.depth",
        unit: "",
        description: "",
        kind: InstrumentKind::UpDownCounter,
        value: ValueKind::I64,
        scope: ("shop", "0.1.0"),
        buckets: &[],
    };

    fn snapshot() -> Snapshot {
        let trace = TraceId::from_int(0x0af7651916cd43dd8448eb211c80319c).unwrap();
        let span = SpanId::from_int(0xb7ad6b7169203331).unwrap();
        let exemplar = |value, profile| Exemplar {
            time_unix_nanos: 1_717_000_000_123_000_000,
            value,
            span: Some((trace, span)),
            profile,
        };
        let metric = |meta, points| Metric { meta, temporality: Temporality::Cumulative, start_unix_nanos: 0, points };
        Snapshot {
            start_unix_nanos: 0,
            time_unix_nanos: 0,
            metrics: vec![
                metric(
                    &ORDERS,
                    vec![Point {
                        series: 1,
                        attributes: Arc::new([
                            (&ROUTE, TagValue::from("/checkout")),
                            (&QUOTE, TagValue::from("a\"b\\c\nd")),
                        ]),
                        value: PointValue::Sum(Number::U64(7)),
                        exemplars: vec![exemplar(Number::U64(1), None)],
                    }],
                ),
                metric(
                    &LATENCY,
                    vec![Point {
                        series: 2,
                        attributes: Arc::new([(&ROUTE, TagValue::from("/checkout"))]),
                        value: PointValue::Histogram(HistogramPoint {
                            bounds: &[0.1, 1.0],
                            counts: vec![1, 0, 2],
                            count: 3,
                            sum: 5.05,
                            min: 0.05,
                            max: 3.0,
                        }),
                        exemplars: vec![exemplar(Number::F64(2.5), Some(span))],
                    }],
                ),
                metric(
                    &DEPTH,
                    vec![Point {
                        series: 3,
                        attributes: Arc::new([]),
                        value: PointValue::Sum(Number::I64(-2)),
                        exemplars: vec![],
                    }],
                ),
            ],
        }
    }

    fn resource() -> Resource {
        Resource {
            attributes: vec![("service.name".into(), TagValue::from("shop"))],
            service: "shop".into(),
            instance: "i".into(),
            hostname: "h".into(),
        }
    }

    #[test]
    fn text_names_counters_by_their_samples_and_carries_no_exemplar() {
        let mut out = String::new();
        encode(&snapshot(), &resource(), Format::Text, &mut Exemplars::new(), &mut out);
        let scope = r#"otel_scope_name="shop",otel_scope_version="0.1.0""#;
        let expected = format!(
            r#"# TYPE shop_orders_total counter
# HELP shop_orders_total Orders "placed".\nAll of them.
shop_orders_total{{http_route="/checkout",quote="a\"b\\c\nd",{scope}}} 7
# TYPE shop_latency_seconds histogram
shop_latency_seconds_bucket{{http_route="/checkout",{scope},le="0.1"}} 1
shop_latency_seconds_bucket{{http_route="/checkout",{scope},le="1.0"}} 1
shop_latency_seconds_bucket{{http_route="/checkout",{scope},le="+Inf"}} 3
shop_latency_seconds_sum{{http_route="/checkout",{scope}}} 5.05
shop_latency_seconds_count{{http_route="/checkout",{scope}}} 3
# TYPE queue_depth gauge
queue_depth{{{scope}}} -2
# TYPE target_info gauge
# HELP target_info Target metadata
target_info{{service_name="shop"}} 1
"#
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn open_metrics_declares_units_ends_with_eof_and_keeps_the_latest_exemplar_per_bucket() {
        let mut exemplars = Exemplars::new();
        let mut out = String::new();
        encode(&snapshot(), &resource(), Format::OpenMetrics, &mut exemplars, &mut out);
        let ids = r#"trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331""#;
        assert!(
            out.contains("# TYPE shop_orders counter\n# HELP shop_orders Orders \\\"placed\\\".\\nAll of them.\n"),
            "{out}"
        );
        assert!(out.contains(&format!("}} 7 # {{{ids}}} 1 1717000000.123\n")), "{out}");
        assert!(out.contains("# TYPE shop_latency_seconds histogram\n# UNIT shop_latency_seconds seconds\n"), "{out}");
        assert!(out.contains(&format!(
            "le=\"+Inf\"}} 3 # {{{ids},pyroscope_profile_id=\"b7ad6b7169203331\"}} 2.5 1717000000.123\n"
        )));
        assert!(out.contains("le=\"0.1\"} 1\n"), "no exemplar where none was recorded: {out}");
        assert!(out.ends_with("# EOF\n"));
        // A later scrape whose collection offers none shows the same exemplars.
        let mut later = snapshot();
        for metric in &mut later.metrics {
            for point in &mut metric.points {
                point.exemplars.clear();
            }
        }
        let mut again = String::new();
        encode(&later, &resource(), Format::OpenMetrics, &mut exemplars, &mut again);
        assert_eq!(again, out);
    }
}
