//! Allocation profiles: which stack, span and `#[profiled]` tags allocated the memory, and what
//! of it is still live.
//!
//! One line turns it on, around the allocator the program already uses:
//!
//! ```
//! #[global_allocator]
//! static ALLOC: spanscope::alloc::Profiled<std::alloc::System> = spanscope::alloc::Profiled::new(std::alloc::System);
//! ```
//!
//! With the profiler running (see [`crate::profiler`]), allocations are sampled as Go's heap
//! profiler samples them: on average one per `SPANSCOPE_ALLOC_SAMPLE_BYTES` allocated (default
//! 512 KiB; `0` turns allocation sampling off), at exponentially distributed byte distances
//! counted per thread. A sampled allocation's stack is walked with the CPU profiler's unwinder
//! and labelled exactly as a CPU sample is: with the `#[profiled]` tags current on the thread
//! (across `.await`, since tags follow each poll) and the sampled span's `span_id`, `trace_id`
//! and `trace_endpoint`. Frees of sampled blocks are followed, so each window's profile gives,
//! per stack and labels:
//!
//! - `alloc_objects`, `alloc_space`: what was allocated during the window, as unbiased estimates
//!   (a block of `s` bytes is sampled with probability `p = 1 - exp(-s / rate)` and stands for
//!   `1/p` blocks and `s/p` bytes);
//! - `inuse_objects`, `inuse_space`: the sampled blocks still allocated at the window's end,
//!   estimated the same way (the live heap, as `go tool pprof` shows it by default).
//!
//! A `realloc` counts as the allocator contract defines it: its new size allocated, its old
//! block freed (the inner allocator's own `realloc` still runs, so in-place growth is kept).
//! Every span also records the bytes allocated while it was current (its children included, and
//! summed over its polls for an async span) as the attribute `spanscope.alloc.bytes`, whenever
//! this wrapper is the global allocator.
//!
//! Cost: an allocation costs a thread-local subtraction and compare, a free a multiply and one
//! load from a 16 KiB filter, each then a tail call of the wrapped allocator; the rest happens
//! once per sample (a stack walk, a ring slot) and on the profiler's collector thread. Without
//! [`crate::init`], or with the profiler off, nothing is ever sampled.
//!
//! Modules: `crate::thread_allocations` (the per-thread countdown and byte total), `sampler` (one sample, inside
//! the allocator), `live_blocks` (the sampled blocks not yet freed), `aggregate` (the collector's
//! per-window counts and estimates).

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) mod aggregate;
pub(crate) mod live_blocks;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) mod sampler;

use std::alloc::{GlobalAlloc, Layout};

use crate::thread_allocations as countdown;

/// A global allocator that samples the allocations it forwards to `A` into the allocation
/// profile (see the [module documentation](self)).
#[derive(Debug, Default)]
pub struct Profiled<A> {
    inner: A,
}

impl<A> Profiled<A> {
    /// Wraps `inner`, the allocator that does the work.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

/// Runs `allocate` (the inner allocator's call for a block of `size` bytes) after counting the
/// bytes, sampling the block when they cross this thread's sample point.
///
/// The count comes first so that the common case ends in a tail call of the inner allocator,
/// with nothing kept across it (no stack frame, no saved register). A failed allocation's bytes
/// are counted too, as allocated: an allocation failure ends the program in all but rare cases.
#[inline(always)]
fn counted(size: usize, allocate: impl FnOnce() -> *mut u8) -> *mut u8 {
    if countdown::consume(size) {
        return crossed(size, allocate);
    }
    allocate()
}

#[cold]
#[inline(never)]
fn crossed(size: usize, allocate: impl FnOnce() -> *mut u8) -> *mut u8 {
    let address = allocate();
    countdown::mark_in_use();
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let rate = countdown::rate();
        if countdown::crossed(rate) && !address.is_null() {
            sampler::take(address, size, rate);
        }
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = size;
        countdown::crossed(0);
    }
    address
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged and returns
// what it returned, so `inner`'s contract carries over; the bookkeeping around it neither
// allocates, nor locks, nor unwinds (see `countdown`, `sampler` and `live_blocks`).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Profiled<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        counted(layout.size(), || unsafe { self.inner.alloc(layout) })
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        counted(layout.size(), || unsafe { self.inner.alloc_zeroed(layout) })
    }

    #[inline]
    unsafe fn dealloc(&self, address: *mut u8, layout: Layout) {
        // Before the free: once freed, the address may be handed out and sampled again.
        if live_blocks::may_be_tracked(address) {
            // SAFETY: the caller's contract for `dealloc`, passed on.
            return unsafe { self.forget_and_dealloc(address, layout) };
        }
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { self.inner.dealloc(address, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, address: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The old block ends here whatever happens: a failed `realloc` leaves it allocated but
        // no longer followed (it is out of the live profile, never double counted).
        if live_blocks::may_be_tracked(address) {
            // SAFETY: the caller's contract for `realloc`, passed on.
            return unsafe { self.forget_and_realloc(address, layout, new_size) };
        }
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { self.counted_realloc(address, layout, new_size) }
    }
}

// The paths of a block that may be followed, out of line with their arguments passed as they
// came (a closure handed to a cold function would be built on the stack ahead of the branch),
// so that the common path keeps nothing across a call.
impl<A: GlobalAlloc> Profiled<A> {
    /// # Safety
    /// `GlobalAlloc::dealloc`'s contract.
    #[cold]
    #[inline(never)]
    unsafe fn forget_and_dealloc(&self, address: *mut u8, layout: Layout) {
        live_blocks::forget(address);
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { self.inner.dealloc(address, layout) }
    }

    /// # Safety
    /// `GlobalAlloc::realloc`'s contract.
    #[cold]
    #[inline(never)]
    unsafe fn forget_and_realloc(&self, address: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        live_blocks::forget(address);
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { self.counted_realloc(address, layout, new_size) }
    }

    /// # Safety
    /// `GlobalAlloc::realloc`'s contract.
    #[inline(always)]
    unsafe fn counted_realloc(&self, address: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        counted(new_size, move || unsafe { self.inner.realloc(address, layout, new_size) })
    }
}
