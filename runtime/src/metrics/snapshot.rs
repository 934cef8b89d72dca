//! What a collection hands the exporters: every series' cumulative value at one instant. The
//! boundary between `metrics` and `export::metrics`; exporters never read shards.

use std::sync::Arc;

use crate::id::{SpanId, TraceId};
use crate::tag::{TagMeta, TagValue};

use super::meta::InstrumentMeta;

/// Every instrument's points at one collection, cumulative since the run started as collected
/// (an exporter that sends deltas turns its copy's sums and histograms into deltas).
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// When the run started.
    pub start_unix_nanos: u64,
    /// When the collection was taken.
    pub time_unix_nanos: u64,
    /// Instruments with at least one point, in registration order.
    pub metrics: Vec<Metric>,
}

/// One instrument's points.
#[derive(Debug, Clone)]
pub(crate) struct Metric {
    pub meta: &'static InstrumentMeta,
    /// How sums and histograms count; ignored for gauges.
    pub temporality: Temporality,
    /// The start of the points' time window: the run's start when cumulative, the previous
    /// export when delta.
    pub start_unix_nanos: u64,
    pub points: Vec<Point>,
}

/// Whether a point counts since the run started or since the previous export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Temporality {
    Cumulative,
    Delta,
}

/// One series: an attribute set's value.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    /// The series' number, stable for the life of the process: what exporters key deltas by.
    pub series: u32,
    /// The attributes, absent optional keys left out.
    pub attributes: Attributes,
    pub value: PointValue,
    /// Recordings made in sampled spans since the previous periodic collection.
    pub exemplars: Vec<Exemplar>,
}

/// A series' attributes, shared by every snapshot that holds the series.
pub(crate) type Attributes = Arc<[(&'static TagMeta, TagValue)]>;

/// A number as an instrument records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Self::U64(v) => v as f64,
            Self::I64(v) => v as f64,
            Self::F64(v) => v,
        }
    }
}

/// A series' value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PointValue {
    /// Counters and up-down counters: the sum since the run started.
    Sum(Number),
    /// Gauges: the last value recorded (by any thread) or observed.
    Gauge(Number),
    /// Histograms with explicit buckets, since the run started.
    Histogram(HistogramPoint),
}

/// An explicit-bucket histogram: bucket `i` counts values in `(bounds[i-1], bounds[i]]`, the
/// first from −∞ and the last (`counts.len() == bounds.len() + 1`) to +∞.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramPoint {
    pub bounds: &'static [f64],
    pub counts: Vec<u64>,
    /// The sum of `counts`.
    pub count: u64,
    pub sum: f64,
    /// `+∞` while `count` is zero.
    pub min: f64,
    /// `−∞` while `count` is zero.
    pub max: f64,
}

/// A recording kept as an example of its series or bucket, with the span it was made in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exemplar {
    pub time_unix_nanos: u64,
    pub value: Number,
    /// The sampled span the recording was made in; `None` under the `always_on` filter outside one.
    pub span: Option<(TraceId, SpanId)>,
    /// The local root span whose CPU profile covers the recording (`pyroscope.profile.id`).
    pub profile: Option<SpanId>,
}
