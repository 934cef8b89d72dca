//! Collection: every shard's cells summed into a [`Snapshot`], on the reporter thread.
//!
//! Cells are cumulative since the process began; a run's values are the cells' totals minus
//! the totals taken when the run started ([`start_run`]). Shards of exited threads are folded
//! into a running total and freed here, the only place shards are freed.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use super::cell::{self, Cell, HISTOGRAM_HEADER};
use super::exemplar::{self, Read};
use super::meta::{InstrumentKind, InstrumentMeta, ValueKind};
use super::observe;
use super::registry::{self, Registry};
use super::shard::{self, PAGE_SLOTS};
use super::snapshot::{Exemplar, HistogramPoint, Metric, Number, Point, PointValue, Snapshot, Temporality};
use crate::clock::{self, Converter};

/// Why a snapshot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    /// At the export interval, a flush or shutdown: starts a new exemplar interval.
    Periodic,
    /// For a pull (a Prometheus scrape): leaves the exemplar interval running.
    Scrape,
}

/// What the collector keeps between collections.
struct Collector {
    /// Totals of the shards of exited threads, by slot.
    retired: Vec<Totals>,
    /// Totals when the run started, by slot.
    baseline: Vec<Totals>,
    /// Slots exported in this run: they keep being exported, even at zero.
    exported: Vec<bool>,
    start_unix_nanos: u64,
    start_tick: u64,
}

static COLLECTOR: Mutex<Collector> = Mutex::new(Collector {
    retired: Vec::new(),
    baseline: Vec::new(),
    exported: Vec::new(),
    start_unix_nanos: 0,
    start_tick: 0,
});

/// One series' totals over some shards.
#[derive(Debug, Clone, Default)]
struct Totals {
    /// Sums: `u64`/`i64` wrapping, or `f64` bits.
    sum: u64,
    /// Gauges: the newest `(tick, bits)`.
    gauge: Option<(u64, u64)>,
    histogram: Option<HistogramTotals>,
}

#[derive(Debug, Clone)]
struct HistogramTotals {
    counts: Vec<u64>,
    sum: f64,
    min: f64,
    max: f64,
}

impl Totals {
    /// Adds one thread's cell of a series of `meta`.
    fn fold(&mut self, meta: &InstrumentMeta, cell: &Cell) {
        match meta.kind {
            InstrumentKind::Counter | InstrumentKind::UpDownCounter => {
                self.sum = add(meta.value, self.sum, cell.value.load(Ordering::Relaxed));
            }
            InstrumentKind::Gauge => {
                if let Some((tick, bits)) = cell::read_gauge(cell) {
                    if self.gauge.is_none_or(|(newest, _)| tick > newest) {
                        self.gauge = Some((tick, bits));
                    }
                }
            }
            InstrumentKind::Histogram => {
                let Some(cells) = cell::histogram_cells(cell, meta.buckets) else { return };
                let totals = self.histogram.get_or_insert_with(|| HistogramTotals {
                    counts: vec![0; meta.buckets.len() + 1],
                    sum: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                });
                for (count, cell) in totals.counts.iter_mut().zip(&cells[HISTOGRAM_HEADER..]) {
                    *count += cell.load(Ordering::Relaxed);
                }
                totals.sum += f64::from_bits(cells[0].load(Ordering::Relaxed));
                totals.min = totals.min.min(f64::from_bits(cells[1].load(Ordering::Relaxed)));
                totals.max = totals.max.max(f64::from_bits(cells[2].load(Ordering::Relaxed)));
            }
            InstrumentKind::ObservableCounter
            | InstrumentKind::ObservableUpDownCounter
            | InstrumentKind::ObservableGauge => {}
        }
    }

    /// Adds totals of other shards.
    fn merge(&mut self, meta: &InstrumentMeta, other: &Totals) {
        self.sum = add(meta.value, self.sum, other.sum);
        if let Some((tick, bits)) = other.gauge {
            if self.gauge.is_none_or(|(newest, _)| tick > newest) {
                self.gauge = Some((tick, bits));
            }
        }
        if let Some(other) = &other.histogram {
            match &mut self.histogram {
                None => self.histogram = Some(other.clone()),
                Some(totals) => {
                    for (count, other) in totals.counts.iter_mut().zip(&other.counts) {
                        *count += other;
                    }
                    totals.sum += other.sum;
                    totals.min = totals.min.min(other.min);
                    totals.max = totals.max.max(other.max);
                }
            }
        }
    }

    /// These totals since `baseline` was taken; `None` if nothing was recorded since.
    fn since(&self, meta: &InstrumentMeta, baseline: Option<&Totals>, start_tick: u64) -> Option<PointValue> {
        match meta.kind {
            InstrumentKind::Counter | InstrumentKind::UpDownCounter => {
                let sum = sub(meta.value, self.sum, baseline.map_or(0, |baseline| baseline.sum));
                Some(PointValue::Sum(number(meta.value, sum)))
            }
            InstrumentKind::Gauge => {
                let (tick, bits) = self.gauge?;
                (tick > start_tick).then(|| PointValue::Gauge(number(meta.value, bits)))
            }
            InstrumentKind::Histogram => {
                let totals = self.histogram.as_ref()?;
                let before = baseline.and_then(|baseline| baseline.histogram.as_ref());
                let counts: Vec<u64> = match before {
                    Some(before) => totals.counts.iter().zip(&before.counts).map(|(now, then)| now - then).collect(),
                    None => totals.counts.clone(),
                };
                let count = counts.iter().sum();
                // Min and max are kept since the process began: a run started later may show
                // an older extreme (cells are never reset, so that only their owner writes them).
                Some(PointValue::Histogram(HistogramPoint {
                    bounds: meta.buckets,
                    counts,
                    count,
                    sum: totals.sum - before.map_or(0.0, |before| before.sum),
                    min: if count == 0 { f64::INFINITY } else { totals.min },
                    max: if count == 0 { f64::NEG_INFINITY } else { totals.max },
                }))
            }
            InstrumentKind::ObservableCounter
            | InstrumentKind::ObservableUpDownCounter
            | InstrumentKind::ObservableGauge => None,
        }
    }

    /// Whether anything was recorded into these totals since `baseline`.
    fn changed_since(&self, baseline: Option<&Totals>) -> bool {
        let Some(baseline) = baseline else { return self.sum != 0 || self.gauge.is_some() || self.histogram.is_some() };
        self.sum != baseline.sum
            || self.gauge.map(|(tick, _)| tick) != baseline.gauge.map(|(tick, _)| tick)
            || self.histogram.as_ref().map(|h| h.counts.iter().sum::<u64>())
                != baseline.histogram.as_ref().map(|h| h.counts.iter().sum::<u64>())
    }
}

fn add(kind: ValueKind, a: u64, b: u64) -> u64 {
    match kind {
        ValueKind::U64 | ValueKind::I64 => a.wrapping_add(b),
        ValueKind::F64 => (f64::from_bits(a) + f64::from_bits(b)).to_bits(),
    }
}

fn sub(kind: ValueKind, a: u64, b: u64) -> u64 {
    match kind {
        ValueKind::U64 | ValueKind::I64 => a.wrapping_sub(b),
        ValueKind::F64 => (f64::from_bits(a) - f64::from_bits(b)).to_bits(),
    }
}

fn number(kind: ValueKind, bits: u64) -> Number {
    match kind {
        ValueKind::U64 => Number::U64(bits),
        ValueKind::I64 => Number::I64(bits as i64),
        ValueKind::F64 => Number::F64(f64::from_bits(bits)),
    }
}

/// Whether a series of this instrument carries exemplars: counters and histograms.
fn has_exemplars(meta: &InstrumentMeta) -> bool {
    matches!(meta.kind, InstrumentKind::Counter | InstrumentKind::Histogram)
}

/// Exemplar candidates read from the shards, by `(slot, bucket)`.
type Candidates = HashMap<(u32, usize), Vec<Read>>;

/// Every shard's cells summed by slot; dead shards folded into `retired` and freed.
fn sum_shards(
    registry: &mut Registry,
    retired: &mut Vec<Totals>,
    mut candidates: Option<&mut Candidates>,
) -> Vec<Totals> {
    let slots = registry.slots.len();
    retired.resize(slots, Totals::default());
    let metas: Vec<&'static InstrumentMeta> =
        registry.slots.iter().map(|slot| registry.instruments[slot.instrument as usize].core.meta).collect();
    let clock = Converter::current();
    let mut live = vec![Totals::default(); slots];
    shard::all().retain(|shard| {
        // SAFETY: registered shards are freed only below, by the collector, which holds the
        // collector's and the registry's locks.
        let state = unsafe { &*shard.0 };
        let dead = state.dead.load(Ordering::Acquire);
        let totals = if dead { &mut *retired } else { &mut live };
        for (index, page) in state.pages.iter().enumerate() {
            let cells = page.load(Ordering::Acquire);
            if cells.is_null() {
                continue;
            }
            // SAFETY: published with release by the owner after zeroing; freed only with the shard.
            for (offset, cell) in unsafe { &*cells }.cells.iter().enumerate() {
                let slot = index * PAGE_SLOTS + offset;
                let Some(meta) = metas.get(slot) else { break };
                totals[slot].fold(meta, cell);
                if let Some(candidates) = candidates.as_deref_mut().filter(|_| has_exemplars(meta)) {
                    let buckets = if meta.kind == InstrumentKind::Histogram { meta.buckets.len() + 1 } else { 1 };
                    for bucket in 0..buckets {
                        if let Some(read) = exemplar::read(&cell.exemplars, bucket, meta.value, &clock) {
                            candidates.entry((slot as u32, bucket)).or_default().push(read);
                        }
                    }
                }
            }
        }
        if dead {
            // SAFETY: the owner is gone (dead seen with acquire) and the shard leaves the list
            // now, so no other reference remains.
            unsafe {
                shard::free(shard.0, |slot, cell| {
                    if let Some(meta) = metas.get(slot) {
                        let histogram = cell.histogram.load(Ordering::Acquire);
                        if !histogram.is_null() {
                            cell::free_histogram(histogram, meta.buckets);
                        }
                    }
                    exemplar::free(&cell.exemplars);
                });
            }
        }
        !dead
    });
    for (slot, totals) in live.iter_mut().enumerate() {
        totals.merge(metas[slot], &retired[slot]);
    }
    live
}

/// Starts a run: values from now on are the run's.
pub(crate) fn start_run() {
    let mut collector = COLLECTOR.lock().unwrap_or_else(PoisonError::into_inner);
    let collector = &mut *collector;
    let mut registry = registry::lock();
    collector.baseline = sum_shards(&mut registry, &mut collector.retired, None);
    collector.exported = vec![false; collector.baseline.len()];
    collector.start_tick = clock::now();
    collector.start_unix_nanos = Converter::current().unix_nanos(collector.start_tick);
}

/// Every instrument's values now.
pub(crate) fn collect(why: Collection) -> Snapshot {
    let observed = observe::run();
    let mut collector = COLLECTOR.lock().unwrap_or_else(PoisonError::into_inner);
    let collector = &mut *collector;
    let mut registry = registry::lock();
    let mut candidates = Candidates::new();
    let totals = sum_shards(&mut registry, &mut collector.retired, Some(&mut candidates));
    collector.exported.resize(totals.len(), false);
    let mut metrics: Vec<Metric> = registry
        .instruments
        .iter()
        .map(|instrument| Metric {
            meta: instrument.core.meta,
            temporality: Temporality::Cumulative,
            start_unix_nanos: collector.start_unix_nanos,
            points: Vec::new(),
        })
        .collect();
    for (slot, totals) in totals.iter().enumerate() {
        let instrument = registry.slots[slot].instrument as usize;
        let meta = metrics[instrument].meta;
        let baseline = collector.baseline.get(slot);
        if !collector.exported[slot] && !totals.changed_since(baseline) {
            continue;
        }
        let Some(value) = totals.since(meta, baseline, collector.start_tick) else { continue };
        collector.exported[slot] = true;
        let buckets = if meta.kind == InstrumentKind::Histogram { meta.buckets.len() + 1 } else { 1 };
        let exemplars: Vec<Exemplar> =
            (0..buckets).filter_map(|bucket| exemplar::merge(candidates.get(&(slot as u32, bucket))?)).collect();
        metrics[instrument].points.push(Point {
            series: slot as u32,
            attributes: registry.slots[slot].attributes.clone(),
            value,
            exemplars,
        });
    }
    drop(registry);
    for (id, core, observations) in observed {
        let mut points: Vec<Point> = Vec::new();
        for observation in observations.values {
            let exported = observation.exported;
            let resolved = registry::resolve_with(core, id, &observation.set, || exported);
            if resolved.slot == registry::NO_SLOT {
                continue;
            }
            let value = number(core.meta.value, observation.bits);
            let value = if core.meta.kind == InstrumentKind::ObservableGauge {
                PointValue::Gauge(value)
            } else {
                PointValue::Sum(value)
            };
            match points.iter_mut().find(|point| point.series == resolved.slot) {
                // Several sets in the overflow series: sums add up, a gauge keeps the last.
                Some(point) => point.value = combine(core.meta.value, &point.value, value),
                None => {
                    let attributes = registry::lock().slots[resolved.slot as usize].attributes.clone();
                    points.push(Point { series: resolved.slot, attributes, value, exemplars: Vec::new() });
                }
            }
        }
        metrics[id as usize].points = points;
    }
    if why == Collection::Periodic {
        exemplar::next_interval();
    }
    let time_unix_nanos = Converter::current().unix_nanos(clock::now());
    Snapshot {
        start_unix_nanos: collector.start_unix_nanos,
        time_unix_nanos,
        metrics: metrics.into_iter().filter(|metric| !metric.points.is_empty()).collect(),
    }
}

fn combine(kind: ValueKind, old: &PointValue, new: PointValue) -> PointValue {
    match (old, new) {
        (PointValue::Sum(old), PointValue::Sum(new)) => {
            let bits = |n: Number| match n {
                Number::U64(v) => v,
                Number::I64(v) => v as u64,
                Number::F64(v) => v.to_bits(),
            };
            PointValue::Sum(number(kind, add(kind, bits(*old), bits(new))))
        }
        (_, new) => new,
    }
}
