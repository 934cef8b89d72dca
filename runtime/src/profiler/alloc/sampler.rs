//! Taking one allocation sample, on the allocating thread, inside the allocator.
//!
//! The rules are the signal handler's (DESIGN.md, "Profiler rules") and the allocator's: no
//! allocation (the hook would recurse), no lock (the allocator's or the unwinder's could be held
//! by this very thread), nothing lazily initialised, no panic (unwinding out of an allocator is
//! undefined behaviour). Everything touched was built before sampling was switched on: the ring,
//! the unwinder snapshot, the probe pipe; the thread-locals read (tags, span identity,
//! countdown) are const-initialised without destructors, valid through a thread's start and
//! exit. A sample that cannot be stored (ring full, every unwinder cache busy) is dropped and
//! counted; a block that cannot be followed is still counted as allocated.
//!
//! The stack is walked from this function's own registers, so its first frames are the hook's:
//! the collector trims them when it symbolises (see `alloc::aggregate`).

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::thread::Thread;

use super::live_blocks::{self, Tracked};
use crate::profiler::ring::{Ring, Sample, SLOTS};
use crate::profiler::unwinder::Snapshot;
use crate::stats::{self, Counter};
use crate::thread_allocations;

/// One sampled allocation, as the hook leaves it in the ring.
#[derive(Clone, Copy)]
pub(crate) struct AllocSample {
    /// The stack (the hook's frames first), tags and span; `weight` is unused.
    pub sample: Sample,
    /// The block's size in bytes.
    pub size: u64,
    /// The mean sampling interval in force, which the unbiased estimates scale by.
    pub rate: u64,
    /// Where the block is followed until it is freed; `None` if it is not.
    pub block: Option<Tracked>,
}

impl AllocSample {
    pub(crate) const EMPTY: Self = Self { sample: Sample::EMPTY, size: 0, rate: 0, block: None };
}

/// The ring samples go to, set once before sampling is first switched on.
static RING: AtomicPtr<Ring<AllocSample>> = AtomicPtr::new(std::ptr::null_mut());

/// Switches sampling on at a mean of `rate` bytes between samples, writing into `ring`; `rate`
/// 0 switches it off. Threads notice at their next crossing. Not for the hook: the ring must
/// exist before it is published.
pub(crate) fn set(ring: &'static Ring<AllocSample>, rate: u64) {
    RING.store(ring as *const _ as *mut _, Ordering::Release);
    thread_allocations::set_rate(rate);
}

/// The collector thread, woken when the ring fills faster than its passes drain it.
static COLLECTOR: AtomicPtr<Thread> = AtomicPtr::new(std::ptr::null_mut());
/// Samples published since the collector last drained the ring.
static PUBLISHED: AtomicUsize = AtomicUsize::new(0);

/// Makes the calling thread the one woken as the ring fills (the collector, as it starts). Its handle is leaked: the hook may be using the previous one.
pub(crate) fn wake_me() {
    COLLECTOR.store(Box::into_raw(Box::new(std::thread::current())), Ordering::Release);
}

/// Says the collector has drained the ring.
pub(crate) fn drained() {
    PUBLISHED.store(0, Ordering::Relaxed);
}

/// Wakes the collector once the samples published since its last drain fill an eighth of the
/// ring: programs allocating gigabytes a second fill it faster than the passes come, and the
/// rest of the ring is the room left while the collector gets going. `unpark` is one of the few
/// `std` calls guaranteed not to allocate.
fn wake_collector_early() {
    if PUBLISHED.fetch_add(1, Ordering::Relaxed) + 1 == SLOTS / 8 {
        let collector = COLLECTOR.load(Ordering::Acquire);
        if !collector.is_null() {
            // SAFETY: handles stored in `COLLECTOR` come from `Box::into_raw` and are never freed.
            unsafe { &*collector }.unpark();
        }
    }
}

/// Switches sampling off.
pub(crate) fn stop() {
    thread_allocations::set_rate(0);
}

/// Records the block of `size` bytes at `address`, just allocated on this thread, whose bytes
/// crossed this thread's sample point.
#[cold]
#[inline(never)]
pub(crate) fn take(address: *mut u8, size: usize, rate: u64) {
    // spanscope's own threads (the collector turning samples into profiles, the exporters)
    // would otherwise feed the ring from draining it.
    if crate::state::is_own_thread() {
        return;
    }
    let Some(_sampling) = thread_allocations::sampling() else { return };
    let ring = RING.load(Ordering::Acquire);
    let Some(snapshot) = Snapshot::current() else { return };
    if ring.is_null() {
        return;
    }
    // SAFETY: reading and later restoring this thread's errno, which the stack reader's probe
    // `write`s may change under the allocating code.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: `RING` holds a `&'static Ring` (see `set`).
    match unsafe { &*ring }.claim() {
        Some(mut claim) => {
            let sample = claim.sample();
            if fill(sample, snapshot, address as u64, size as u64, rate) {
                claim.publish();
                wake_collector_early();
            } else {
                stats::add(Counter::AllocSamplesDropped, 1);
            }
        }
        None => stats::add(Counter::AllocSamplesDropped, 1),
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Fills `sample` in; false if the stack could not be walked (every unwinder cache busy).
#[inline(never)]
fn fill(sample: &mut AllocSample, snapshot: &Snapshot, address: u64, size: u64, rate: u64) -> bool {
    let (ip, sp, bp): (u64, u64, u64);
    // SAFETY: copies the instruction, stack and frame pointers into registers; reads no memory
    // and leaves the stack and flags alone. The three values belong to one instant of this
    // function, which is what the unwinder's tables describe.
    unsafe {
        std::arch::asm!(
            "lea {ip}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            ip = out(reg) ip,
            sp = out(reg) sp,
            bp = out(reg) bp,
            options(nomem, nostack, preserves_flags),
        );
    }
    let Some(depth) = snapshot.walk(ip, sp, bp, &mut sample.sample.frames) else { return false };
    sample.sample.depth = depth;
    sample.sample.weight = 1;
    sample.sample.tags.capture();
    sample.sample.span.capture();
    sample.size = size;
    sample.rate = rate;
    sample.block = live_blocks::insert(address);
    if sample.block.is_none() {
        stats::add(Counter::AllocBlocksUntracked, 1);
    }
    true
}
