//! Instruments: what `metrics!` declares (a static per instrument, named in the generated
//! module) and the bound handles they give.
//!
//! A recording finds its series' cell in this thread's shard ([`shard`](super::shard)) and
//! writes it with a plain load and store: only this thread writes it, and the collector sums
//! every thread's cells.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::attributes::{AttributeSchema, AttributeSet};
use super::cell::{self, Cell};
use super::exemplar;
use super::observe::Observer;
use super::shard;

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

/// What every instrument static holds: its declaration, and its number once registered.
#[derive(Debug)]
pub struct InstrumentCore {
    pub(crate) meta: &'static InstrumentMeta,
    /// The instrument's number plus one; zero until its first recording registers it.
    id: AtomicU32,
}

impl InstrumentCore {
    const fn new(meta: &'static InstrumentMeta) -> Self {
        Self { meta, id: AtomicU32::new(0) }
    }

    /// The instrument's number, registering it on first use.
    #[inline]
    pub(crate) fn id(&'static self) -> u32 {
        match self.id.load(Ordering::Acquire) {
            0 => self.register(),
            id => id - 1,
        }
    }

    #[cold]
    fn register(&'static self) -> u32 {
        super::registry::register(self, |id| self.id.store(id + 1, Ordering::Release))
    }
}

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

macro_rules! instrument_static {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<V: MetricValue> {
            core: InstrumentCore,
            value: PhantomData<fn(V)>,
        }

        impl<V: MetricValue> $name<V> {
            #[doc(hidden)]
            pub const fn new(meta: &'static InstrumentMeta) -> Self {
                Self { core: InstrumentCore::new(meta), value: PhantomData }
            }
        }
    };
}

instrument_static!(
    /// A counter declared with `metrics!`.
    Counter
);
instrument_static!(
    /// An up-down counter declared with `metrics!`.
    UpDownCounter
);
instrument_static!(
    /// A histogram declared with `metrics!`.
    Histogram
);
instrument_static!(
    /// A gauge declared with `metrics!`.
    Gauge
);

impl<V: MetricValue> Counter<V> {
    /// Adds `value` to the series of `attributes`; a negative, NaN or infinite value is dropped
    /// and counted.
    #[inline]
    pub fn add<A: AttributeSet>(&'static self, value: V, attributes: &A) {
        if !value.is_increment() {
            return cell::invalid();
        }
        shard::with_cell(&self.core, attributes, |cell| {
            value.add_to(&cell.value);
            exemplar::offer(cell, value.to_bits(), 0, 1);
        });
    }

    /// A handle on the series of `attributes`: recording through it skips the lookup.
    pub fn bind<A: AttributeSet>(&'static self, attributes: &A) -> BoundCounter<V> {
        BoundCounter { series: Series::bind(&self.core, attributes), value: PhantomData }
    }
}

impl<V: MetricValue> UpDownCounter<V> {
    /// Adds `value` (negative to subtract) to the series of `attributes`.
    #[inline]
    pub fn add<A: AttributeSet>(&'static self, value: V, attributes: &A) {
        if !value.to_f64().is_finite() {
            return cell::invalid();
        }
        shard::with_cell(&self.core, attributes, |cell| value.add_to(&cell.value));
    }

    /// A handle on the series of `attributes`.
    pub fn bind<A: AttributeSet>(&'static self, attributes: &A) -> BoundUpDownCounter<V> {
        BoundUpDownCounter { series: Series::bind(&self.core, attributes), value: PhantomData }
    }
}

impl<V: MetricValue> Histogram<V> {
    /// Records `value` in the series of `attributes`; NaN and infinities are dropped and counted.
    #[inline]
    pub fn record<A: AttributeSet>(&'static self, value: V, attributes: &A) {
        let value_f64 = value.to_f64();
        if !value_f64.is_finite() {
            return cell::invalid();
        }
        shard::with_cell(&self.core, attributes, |cell| {
            let bucket = cell::record_histogram(cell, self.core.meta.buckets, value_f64);
            exemplar::offer(cell, value.to_bits(), bucket, self.core.meta.buckets.len() + 1);
        });
    }

    /// [`record`](Self::record) a measurement of the span `identity` names, which need not be
    /// current (its exemplar points there).
    #[inline]
    pub(crate) fn record_for<A: AttributeSet>(
        &'static self,
        value: V,
        attributes: &A,
        identity: Option<exemplar::Identity>,
    ) {
        let value_f64 = value.to_f64();
        if !value_f64.is_finite() {
            return cell::invalid();
        }
        let buckets = self.core.meta.buckets;
        shard::with_cell(&self.core, attributes, |cell| {
            let bucket = cell::record_histogram(cell, buckets, value_f64);
            exemplar::offer_for(cell, value.to_bits(), bucket, buckets.len() + 1, identity);
        });
    }

    /// A handle on the series of `attributes`.
    pub fn bind<A: AttributeSet>(&'static self, attributes: &A) -> BoundHistogram<V> {
        BoundHistogram { series: Series::bind(&self.core, attributes), value: PhantomData }
    }
}

impl<V: MetricValue> Gauge<V> {
    /// Sets the series of `attributes` to `value`; NaN and infinities are dropped and counted.
    #[inline]
    pub fn record<A: AttributeSet>(&'static self, value: V, attributes: &A) {
        if !value.to_f64().is_finite() {
            return cell::invalid();
        }
        shard::with_cell(&self.core, attributes, |cell| cell::set_gauge(cell, value.to_bits()));
    }

    /// A handle on the series of `attributes`.
    pub fn bind<A: AttributeSet>(&'static self, attributes: &A) -> BoundGauge<V> {
        BoundGauge { series: Series::bind(&self.core, attributes), value: PhantomData }
    }
}

/// A series resolved once: its instrument and slot.
#[derive(Debug, Clone, Copy)]
struct Series {
    core: &'static InstrumentCore,
    slot: u32,
}

impl Series {
    fn bind<A: AttributeSet>(core: &'static InstrumentCore, attributes: &A) -> Self {
        Self { core, slot: super::registry::slot_of(core, attributes) }
    }

    #[inline]
    fn with_cell(self, f: impl FnOnce(&Cell)) {
        shard::with_slot_cell(self.slot, f);
    }
}

/// A counter's series with its attributes fixed: [`add`](Self::add) goes straight to its cell.
#[derive(Debug, Clone, Copy)]
pub struct BoundCounter<V: MetricValue> {
    series: Series,
    value: PhantomData<fn(V)>,
}

impl<V: MetricValue> BoundCounter<V> {
    /// Adds `value`; a negative, NaN or infinite value is dropped and counted.
    #[inline]
    pub fn add(&self, value: V) {
        if !value.is_increment() {
            return cell::invalid();
        }
        self.series.with_cell(|cell| {
            value.add_to(&cell.value);
            exemplar::offer(cell, value.to_bits(), 0, 1);
        });
    }
}

/// An up-down counter's series with its attributes fixed.
#[derive(Debug, Clone, Copy)]
pub struct BoundUpDownCounter<V: MetricValue> {
    series: Series,
    value: PhantomData<fn(V)>,
}

impl<V: MetricValue> BoundUpDownCounter<V> {
    /// Adds `value`, negative to subtract.
    #[inline]
    pub fn add(&self, value: V) {
        if !value.to_f64().is_finite() {
            return cell::invalid();
        }
        self.series.with_cell(|cell| value.add_to(&cell.value));
    }
}

/// A histogram's series with its attributes fixed.
#[derive(Debug, Clone, Copy)]
pub struct BoundHistogram<V: MetricValue> {
    series: Series,
    value: PhantomData<fn(V)>,
}

impl<V: MetricValue> BoundHistogram<V> {
    /// Records `value`; NaN and infinities are dropped and counted.
    #[inline]
    pub fn record(&self, value: V) {
        let value_f64 = value.to_f64();
        if !value_f64.is_finite() {
            return cell::invalid();
        }
        let buckets = self.series.core.meta.buckets;
        self.series.with_cell(|cell| {
            let bucket = cell::record_histogram(cell, buckets, value_f64);
            exemplar::offer(cell, value.to_bits(), bucket, buckets.len() + 1);
        });
    }
}

/// A gauge's series with its attributes fixed.
#[derive(Debug, Clone, Copy)]
pub struct BoundGauge<V: MetricValue> {
    series: Series,
    value: PhantomData<fn(V)>,
}

impl<V: MetricValue> BoundGauge<V> {
    /// Sets the gauge to `value`; NaN and infinities are dropped and counted.
    #[inline]
    pub fn record(&self, value: V) {
        if !value.to_f64().is_finite() {
            return cell::invalid();
        }
        self.series.with_cell(|cell| cell::set_gauge(cell, value.to_bits()));
    }
}

/// An observable counter, up-down counter or gauge declared with `metrics!`: its callback
/// reports values at each collection, once [`register`](Self::register) was called.
pub struct Observable<V: MetricValue, S: AttributeSchema> {
    core: InstrumentCore,
    callback: fn(&mut Observer<'_, V, S>),
}

impl<V: MetricValue, S: AttributeSchema> std::fmt::Debug for Observable<V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observable").field("core", &self.core).finish_non_exhaustive()
    }
}

impl<V: MetricValue, S: AttributeSchema> Observable<V, S> {
    #[doc(hidden)]
    pub const fn new(meta: &'static InstrumentMeta, callback: fn(&mut Observer<'_, V, S>)) -> Self {
        Self { core: InstrumentCore::new(meta), callback }
    }

    /// Has the callback called at every collection from now on. Idempotent.
    pub fn register(&'static self) {
        let id = self.core.id();
        super::observe::register(id, &self.core, move |observations| {
            let mut observer = Observer::new(observations);
            (self.callback)(&mut observer);
        });
    }
}
