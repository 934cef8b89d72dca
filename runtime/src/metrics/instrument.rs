//! Instruments: what `metrics!` declares (a static per instrument, named in the generated
//! module) and the bound handles they give.
//!
//! A recording finds its series' cell in this thread's shard ([`shard`](super::shard)) and
//! writes it with a plain load and store: only this thread writes it, and the collector sums
//! every thread's cells.

use std::marker::PhantomData;

use super::attributes::AttributeSet;
use super::cell::{self, Cell};
use super::exemplar;
use super::meta::{InstrumentMeta, MetricValue};
use super::registry::{self, InstrumentCore};
use super::shard;

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
            exemplar::offer(&cell.exemplars, value.to_bits(), 0, 1);
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
            exemplar::offer(&cell.exemplars, value.to_bits(), bucket, self.core.meta.buckets.len() + 1);
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
            exemplar::offer_for(&cell.exemplars, value.to_bits(), bucket, buckets.len() + 1, || identity);
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
        Self { core, slot: registry::slot_of(core, attributes) }
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
            exemplar::offer(&cell.exemplars, value.to_bits(), 0, 1);
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
            exemplar::offer(&cell.exemplars, value.to_bits(), bucket, buckets.len() + 1);
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
