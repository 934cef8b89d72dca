//! The cell of one series in one thread's shard, and how recordings write it.
//!
//! Every field is an atomic written only by the owning thread (a plain load and store, no
//! read-modify-write) and read by the collector: cells are cumulative and never reset, so the
//! collector never writes them, and deltas are its subtractions.

use std::sync::atomic::{fence, AtomicPtr, AtomicU64, Ordering};

use crate::clock;
use crate::stats::{self, Counter};

/// One series' data in one thread's shard. Cells are laid out in pages of one thread only, so
/// no other thread writes their cache lines.
#[derive(Debug, Default)]
pub(crate) struct Cell {
    /// Sums: the `u64`, `i64` (wrapping) or `f64` bits. Gauges: the last value's bits.
    pub value: AtomicU64,
    /// Gauges: the tick of the last value; zero before the first, [`WRITING`] while one is being
    /// written (a sequence lock).
    pub tick: AtomicU64,
    /// Histograms: [`HistogramCells`], allocated at this thread's first recording of the series.
    pub histogram: AtomicPtr<AtomicU64>,
    /// Exemplar reservoir of the series on this thread, allocated at its first sampled recording.
    pub exemplars: AtomicPtr<super::exemplar::Reservoir>,
}

/// Counts a value no instrument can take (NaN, infinite, a negative increment).
#[cold]
pub(crate) fn invalid() {
    stats::add(Counter::MetricMeasurementsInvalid, 1);
}

/// A histogram's cells: `[sum bits, min bits, max bits, count of bucket 0, …, of bucket n]`.
pub(crate) const HISTOGRAM_HEADER: usize = 3;

/// The number of cells of a histogram with `bounds`.
pub(crate) fn histogram_len(bounds: &[f64]) -> usize {
    HISTOGRAM_HEADER + bounds.len() + 1
}

/// The bucket `value` falls in: the number of bounds below it (bucket `i` is `(b[i-1], b[i]]`).
#[inline]
pub(crate) fn bucket_of(bounds: &[f64], value: f64) -> usize {
    if bounds.len() <= 16 {
        bounds.iter().map(|bound| usize::from(*bound < value)).sum()
    } else {
        bounds.partition_point(|bound| *bound < value)
    }
}

/// Records `value` into a histogram cell; returns its bucket.
#[inline]
pub(crate) fn record_histogram(cell: &Cell, bounds: &[f64], value: f64) -> usize {
    let mut cells = cell.histogram.load(Ordering::Relaxed);
    if cells.is_null() {
        cells = allocate_histogram(cell, bounds);
    }
    let len = histogram_len(bounds);
    // SAFETY: `cells` was allocated by `allocate_histogram` with `len` cells for these bounds
    // (an instrument's bounds never change) and is freed only with the shard, after its thread
    // is gone.
    let cells = unsafe { std::slice::from_raw_parts(cells, len) };
    let bucket = bucket_of(bounds, value);
    let count = &cells[HISTOGRAM_HEADER + bucket];
    count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    let sum = f64::from_bits(cells[0].load(Ordering::Relaxed)) + value;
    cells[0].store(sum.to_bits(), Ordering::Relaxed);
    if value < f64::from_bits(cells[1].load(Ordering::Relaxed)) {
        cells[1].store(value.to_bits(), Ordering::Relaxed);
    }
    if value > f64::from_bits(cells[2].load(Ordering::Relaxed)) {
        cells[2].store(value.to_bits(), Ordering::Relaxed);
    }
    bucket
}

#[cold]
fn allocate_histogram(cell: &Cell, bounds: &[f64]) -> *mut AtomicU64 {
    let cells: Box<[AtomicU64]> = (0..histogram_len(bounds))
        .map(|index| {
            AtomicU64::new(match index {
                1 => f64::INFINITY.to_bits(),
                2 => f64::NEG_INFINITY.to_bits(),
                _ => 0,
            })
        })
        .collect();
    let cells = Box::into_raw(cells).cast::<AtomicU64>();
    // Release: the collector's acquire load of the pointer sees the initialised cells.
    cell.histogram.store(cells, Ordering::Release);
    cells
}

/// Frees a histogram's cells.
///
/// # Safety
/// `cells` came from `allocate_histogram` with `bounds`, and nothing reads or writes it anymore.
pub(crate) unsafe fn free_histogram(cells: *mut AtomicU64, bounds: &[f64]) {
    let slice = std::ptr::slice_from_raw_parts_mut(cells, histogram_len(bounds));
    // SAFETY: per the contract, a box of this length, no longer shared.
    drop(unsafe { Box::from_raw(slice) });
}

/// The histogram cells of `cell` as the collector reads them, if this thread recorded any.
pub(crate) fn histogram_cells<'a>(cell: &'a Cell, bounds: &[f64]) -> Option<&'a [AtomicU64]> {
    let cells = cell.histogram.load(Ordering::Acquire);
    // SAFETY: as in `record_histogram`; the acquire load pairs with the release store of the
    // initialised allocation.
    (!cells.is_null()).then(|| unsafe { std::slice::from_raw_parts(cells, histogram_len(bounds)) })
}

/// A gauge's tick while its value is being written.
const WRITING: u64 = u64::MAX;

/// Sets a gauge cell: the value between two writes of its tick, the first [`WRITING`], so that a
/// reader that sees the same tick before and after read a whole value.
#[inline]
pub(crate) fn set_gauge(cell: &Cell, bits: u64) {
    cell.tick.store(WRITING, Ordering::Relaxed);
    fence(Ordering::Release);
    cell.value.store(bits, Ordering::Relaxed);
    cell.tick.store(clock::now(), Ordering::Release);
}

/// A gauge cell's `(tick, bits)`, or `None` if it was never set on this thread.
pub(crate) fn read_gauge(cell: &Cell) -> Option<(u64, u64)> {
    loop {
        let before = cell.tick.load(Ordering::Acquire);
        let bits = cell.value.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        let after = cell.tick.load(Ordering::Relaxed);
        if before == after && before != WRITING {
            return (before != 0).then_some((before, bits));
        }
        std::hint::spin_loop();
    }
}
