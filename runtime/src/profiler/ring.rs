//! The pre-allocated slots samples are written to: many writers (signal handlers, the allocator
//! hook), one collector thread reads.
//!
//! Each slot has an atomic state (free, being written, ready). A handler claims a free slot
//! with one compare-and-swap, fills it in place and marks it ready; the collector copies ready
//! slots out and frees them. Nothing here allocates after [`Ring::new`] or waits: when no slot
//! is free the sample is dropped and counted, which only happens if the collector falls behind
//! by a whole ring.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use super::span_identity::SpanSnapshot;
use super::tag_state::TagSnapshot;

/// Frames a sample records at most; deeper stacks keep their innermost frames, followed by
/// [`TRUNCATED`] in place of the rest.
pub(crate) const MAX_FRAMES: usize = 128;

/// Stands, at the root end of a stack, for the frames cut off beyond [`MAX_FRAMES`]: never a
/// code address (it is in the kernel's half of the address space), shown as `[truncated]`.
pub(crate) const TRUNCATED: u64 = u64::MAX;

/// Slots in a ring, about 2.3 KiB each. The collector drains the CPU ring often enough that every
/// thread it times, all busy at once, fills at most half of it (see `collector::pass_every`).
pub(crate) const SLOTS: usize = 512;

/// Adjacent slots a handler tries before giving up.
const PROBES: usize = 8;

const FREE: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;

/// One CPU sample, as the signal handler leaves it.
#[derive(Clone, Copy)]
pub(crate) struct Sample {
    /// Code addresses, leaf first; each is the address to look up (a return address minus one).
    /// A stack cut at [`MAX_FRAMES`] ends with [`TRUNCATED`].
    pub frames: [u64; MAX_FRAMES + 1],
    pub depth: usize,
    /// Timer periods this sample stands for: 1, plus the expirations that passed while its
    /// signal was pending (a delayed tick, a preempted virtual CPU).
    pub weight: u64,
    pub tags: TagSnapshot,
    pub span: SpanSnapshot,
}

impl Sample {
    pub(crate) const EMPTY: Self =
        Self { frames: [0; MAX_FRAMES + 1], depth: 0, weight: 1, tags: TagSnapshot::EMPTY, span: SpanSnapshot::EMPTY };

    /// The recorded stack, leaf first, [`TRUNCATED`] last if it was cut.
    pub(crate) fn stack(&self) -> &[u64] {
        &self.frames[..self.depth]
    }
}

struct Slot<T> {
    state: AtomicU8,
    sample: UnsafeCell<T>,
}

/// The ring of sample slots, each holding a `T` (a CPU [`Sample`], or an allocation sample).
pub(crate) struct Ring<T> {
    slots: Box<[Slot<T>]>,
    next: AtomicUsize,
}

// SAFETY: a slot's sample is only accessed by whoever moved its state out of FREE (a writer,
// until it stores READY) or saw READY (the collector, until it stores FREE); the state's
// acquire/release pairs order those accesses. Samples are plain copies: the only pointers they
// hold name `'static` tag metadata, readable from any thread.
unsafe impl<T> Sync for Ring<T> {}
// SAFETY: as above; a ring is moved between threads only as a `&'static` reference.
unsafe impl<T> Send for Ring<T> {}

/// A slot claimed by a writer; dropping it without [`Claim::publish`] frees it again.
pub(crate) struct Claim<'a, T> {
    slot: &'a Slot<T>,
}

impl<T: Copy> Ring<T> {
    /// Allocates every slot now, each holding `empty`, off the signal path.
    pub(crate) fn new(empty: T) -> Self {
        let slots = (0..SLOTS).map(|_| Slot { state: AtomicU8::new(FREE), sample: UnsafeCell::new(empty) });
        Self { slots: slots.collect(), next: AtomicUsize::new(0) }
    }

    /// Claims a free slot. Signal-safe: atomics only.
    pub(crate) fn claim(&self) -> Option<Claim<'_, T>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..PROBES).map(|i| &self.slots[(start + i) % SLOTS]).find_map(|slot| {
            slot.state
                .compare_exchange(FREE, WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
                // Lazily: a claim made for a slot that was not won would free it when dropped.
                .then(|| Claim { slot })
        })
    }

    /// Hands every ready sample to `f`, then frees its slot.
    pub(crate) fn drain(&self, mut f: impl FnMut(&T)) {
        for slot in self.slots.iter() {
            if slot.state.load(Ordering::Acquire) == READY {
                // SAFETY: READY means the writing handler is done and nobody else reads it.
                f(unsafe { &*slot.sample.get() });
                slot.state.store(FREE, Ordering::Release);
            }
        }
    }
}

impl<T> Claim<'_, T> {
    /// The sample to fill in.
    pub(crate) fn sample(&mut self) -> &mut T {
        // SAFETY: this claim moved the state to WRITING, so it alone accesses the sample.
        unsafe { &mut *self.slot.sample.get() }
    }

    /// Makes the sample visible to the collector.
    pub(crate) fn publish(self) {
        self.slot.state.store(READY, Ordering::Release);
        std::mem::forget(self);
    }
}

impl<T> Drop for Claim<'_, T> {
    fn drop(&mut self) {
        self.slot.state.store(FREE, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_slots_are_drained_once_and_freed() {
        let ring = Ring::new(Sample::EMPTY);
        for depth in 1..=3 {
            let mut claim = ring.claim().expect("a free slot");
            claim.sample().depth = depth;
            claim.publish();
        }
        drop(ring.claim());
        let mut seen = Vec::new();
        ring.drain(|s| seen.push(s.depth));
        seen.sort_unstable();
        assert_eq!(seen, [1, 2, 3]);
        ring.drain(|_| panic!("drained twice"));
        assert!((0..SLOTS).all(|_| ring.claim().is_some_and(Claim::publish_and_true)));
        assert!(ring.claim().is_none(), "a full ring refuses");
    }

    impl<T> Claim<'_, T> {
        fn publish_and_true(self) -> bool {
            self.publish();
            true
        }
    }
}
