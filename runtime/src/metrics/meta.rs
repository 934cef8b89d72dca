//! What an instrument is, apart from its data: its declaration and the number types it
//! records. Everything in the metrics module builds on these.

use std::sync::atomic::{AtomicU64, Ordering};

/// What kind of instrument, as OpenTelemetry names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstrumentKind {
    /// Only goes up; exported as a monotonic sum.
    Counter,
    /// Goes up and down; exported as a non-monotonic sum.
    UpDownCounter,
    /// A distribution in explicit buckets.
    Histogram,
    /// The last value recorded.
    Gauge,
    /// A counter read by a callback at each collection.
    ObservableCounter,
    /// An up-down counter read by a callback at each collection.
    ObservableUpDownCounter,
    /// A gauge read by a callback at each collection.
    ObservableGauge,
}

impl InstrumentKind {
    /// Whether the instrument is a sum (exported with a temporality).
    pub(crate) fn is_sum(self) -> bool {
        matches!(self, Self::Counter | Self::UpDownCounter | Self::ObservableCounter | Self::ObservableUpDownCounter)
    }

    /// Whether the sum only goes up.
    pub(crate) fn is_monotonic(self) -> bool {
        matches!(self, Self::Counter | Self::ObservableCounter)
    }
}

/// The type an instrument records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `u64`.
    U64,
    /// `i64`.
    I64,
    /// `f64`.
    F64,
}

/// An instrument as declared: everything but its data.
#[derive(Debug)]
pub struct InstrumentMeta {
    /// The wire name (OpenTelemetry's instrument name syntax, checked by `metrics!`).
    pub name: &'static str,
    /// The unit, UCUM (`s`, `By`, `{request}`), or empty.
    pub unit: &'static str,
    /// The doc comment of the declaration, lines joined by a space.
    pub description: &'static str,
    pub kind: InstrumentKind,
    pub value: ValueKind,
    /// The instrumentation scope: the declaring crate's name and version.
    pub scope: (&'static str, &'static str),
    /// Histograms: the bucket bounds, finite and strictly increasing.
    pub buckets: &'static [f64],
}

/// The default bucket bounds of a histogram, as OpenTelemetry's SDK specification gives them.
pub const DEFAULT_BUCKETS: &[f64] =
    &[0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0];

/// A number an instrument records: `u64`, `i64` or `f64`.
pub trait MetricValue: Copy + Send + Sync + 'static + sealed::Sealed {
    #[doc(hidden)]
    const KIND: ValueKind;
    #[doc(hidden)]
    /// Adds `self` to a sum cell only its owner writes.
    fn add_to(self, cell: &AtomicU64);
    #[doc(hidden)]
    fn to_f64(self) -> f64;
    #[doc(hidden)]
    fn to_bits(self) -> u64;
    #[doc(hidden)]
    /// Whether a counter can add it: not negative, not NaN, not infinite.
    fn is_increment(self) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
}

impl MetricValue for u64 {
    const KIND: ValueKind = ValueKind::U64;
    #[inline]
    fn add_to(self, cell: &AtomicU64) {
        cell.store(cell.load(Ordering::Relaxed).wrapping_add(self), Ordering::Relaxed);
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn to_bits(self) -> u64 {
        self
    }
    fn is_increment(self) -> bool {
        true
    }
}

impl MetricValue for i64 {
    const KIND: ValueKind = ValueKind::I64;
    #[inline]
    fn add_to(self, cell: &AtomicU64) {
        cell.store(cell.load(Ordering::Relaxed).wrapping_add(self as u64), Ordering::Relaxed);
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn to_bits(self) -> u64 {
        self as u64
    }
    fn is_increment(self) -> bool {
        self >= 0
    }
}

impl MetricValue for f64 {
    const KIND: ValueKind = ValueKind::F64;
    #[inline]
    fn add_to(self, cell: &AtomicU64) {
        let sum = f64::from_bits(cell.load(Ordering::Relaxed)) + self;
        cell.store(sum.to_bits(), Ordering::Relaxed);
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn to_bits(self) -> u64 {
        self.to_bits()
    }
    fn is_increment(self) -> bool {
        self >= 0.0 && self.is_finite()
    }
}
