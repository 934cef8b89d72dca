//! The collector's side of allocation sampling: each window's estimated allocations, and the
//! sampled blocks still live across windows.
//!
//! Each sample stands for `1/p` allocations and `size/p` bytes, where `p = 1 - exp(-size/rate)`
//! is the chance that an allocation of its size is sampled: per sample, so blocks of different
//! sizes under one stack are each weighed right (Go's `scaleHeapSample` applies the formula to a
//! stack's average size instead, which is off when sizes vary). A followed block adds the same
//! amounts to the in-use values of every window it is still live at the end of.

use std::collections::HashMap;
use std::ops::AddAssign;
use std::time::SystemTime;

use super::live_blocks::{self, Tracked};
use super::sampler::AllocSample;
use crate::profiler::aggregate::{labels, Labels, Window};

/// Estimated objects and bytes, allocated in a window and live at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Amounts {
    pub alloc_objects: f64,
    pub alloc_space: f64,
    pub inuse_objects: f64,
    pub inuse_space: f64,
}

impl AddAssign for Amounts {
    fn add_assign(&mut self, other: Self) {
        self.alloc_objects += other.alloc_objects;
        self.alloc_space += other.alloc_space;
        self.inuse_objects += other.inuse_objects;
        self.inuse_space += other.inuse_space;
    }
}

impl Amounts {
    /// The profile's values, in the order of `pprof::Measure::allocations`.
    pub(crate) fn values(&self) -> Vec<i64> {
        [self.alloc_objects, self.alloc_space, self.inuse_objects, self.inuse_space].map(|v| v.round() as i64).to_vec()
    }
}

/// What one sampled block of `size` bytes stands for, sampled at a mean of `rate` bytes:
/// `(objects, bytes)`.
pub(crate) fn unbiased(size: u64, rate: u64) -> (f64, f64) {
    if rate <= 1 {
        return (1.0, size as f64);
    }
    let probability = -(-(size as f64) / rate as f64).exp_m1();
    if probability <= 0.0 {
        return (0.0, 0.0);
    }
    (1.0 / probability, size as f64 / probability)
}

/// A followed block: where to see whether it is live, and what it adds while it is.
#[derive(Debug)]
struct LiveBlock {
    tracked: Tracked,
    stack: Box<[u64]>,
    labels: Labels,
    objects: f64,
    bytes: f64,
}

/// The allocation samples of the current window, and the followed blocks of every window.
#[derive(Debug)]
pub(crate) struct Heap {
    window: Window<Amounts>,
    /// By slot of the live-block table.
    live: HashMap<u32, LiveBlock>,
}

impl Heap {
    pub(crate) fn new(start: SystemTime) -> Self {
        Self { window: Window::new(start), live: HashMap::new() }
    }

    /// Counts one drained sample.
    pub(crate) fn add(&mut self, sample: &AllocSample) {
        let (objects, bytes) = unbiased(sample.size, sample.rate);
        let allocated = Amounts { alloc_objects: objects, alloc_space: bytes, ..Amounts::default() };
        self.window.add(&sample.sample, allocated);
        let Some(tracked) = sample.block else { return };
        // Samples are drained in ring order, not in time order: of two blocks seen in one slot,
        // the later one is kept (the earlier was freed for the later to take its place).
        if self.live.get(&tracked.slot).is_some_and(|known| live_blocks::is_later(known.tracked, tracked)) {
            return;
        }
        let block =
            LiveBlock { tracked, stack: sample.sample.stack().into(), labels: labels(&sample.sample), objects, bytes };
        self.live.insert(tracked.slot, block);
    }

    /// Ends the window at `end`: adds the blocks still live, forgets the freed ones, and returns
    /// the window if it has anything to show.
    pub(crate) fn finish(&mut self, end: SystemTime) -> Option<Window<Amounts>> {
        self.live.retain(|_, block| live_blocks::is_live(block.tracked));
        for block in self.live.values() {
            let live = Amounts { inuse_objects: block.objects, inuse_space: block.bytes, ..Amounts::default() };
            self.window.add_to(&block.stack, block.labels.clone(), live);
        }
        let window = std::mem::replace(&mut self.window, Window::new(end));
        (!window.is_empty()).then_some(window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_undo_the_sampling_probability() {
        let rate = 512 * 1024;
        // A block far larger than the rate is always sampled and stands for itself.
        let (objects, bytes) = unbiased(64 * rate, rate);
        assert!((objects - 1.0).abs() < 1e-9 && (bytes - 64.0 * rate as f64).abs() < 1e-3);
        // A small one stands for about rate/size blocks, i.e. about `rate` bytes.
        let (objects, bytes) = unbiased(16, rate);
        assert!((objects - rate as f64 / 16.0).abs() / objects < 1e-4, "{objects}");
        assert!((bytes - rate as f64).abs() / bytes < 1e-4, "{bytes}");
        // Every allocation sampled: plain counts.
        assert_eq!(unbiased(100, 1), (1.0, 100.0));
        assert_eq!(unbiased(0, rate), (0.0, 0.0), "a zero-sized block (never given to `alloc`) counts nothing");
    }
}
