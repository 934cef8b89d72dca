//! Each thread's countdown to its next allocation sample, and its running total of bytes
//! allocated, for the [`alloc::Profiled`](crate::alloc::Profiled) allocator's hook and for spans
//! (which count the bytes allocated while they are current); and the sampling rate in force.
//! A module of its own at the bottom of the crate: both the profiler and the spans read it.
//!
//! The hot path is [`consume`]: one subtraction and one compare on a thread-local word. The
//! state is a const-initialised thread-local without a destructor (plain `Cell`s), so touching
//! it never allocates, never registers anything, and stays valid while the thread's other
//! thread-locals are being destroyed: the allocator may be called at any point of a thread's
//! life. No field is ever borrowed across a call, so nothing here can panic.
//!
//! The total is not counted separately: it is `base - remaining`, where `base` moves only when a
//! new interval is drawn, so [`thread_allocated`] costs the hot path nothing.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes between two looks at the sampling rate while sampling is off: how soon a thread notices
/// that the profiler started, at the cost of one slow-path call per MiB allocated.
const RECHECK_BYTES: i64 = 1 << 20;

struct ThreadBytes {
    /// Bytes to allocate up to and including the next sample point; at most 0 once it was
    /// reached.
    remaining: Cell<i64>,
    /// `remaining`'s value plus the bytes this thread allocated: see the module doc.
    base: Cell<u64>,
    /// Whether `remaining` counts down a drawn sampling interval (rather than a recheck), so
    /// that crossing it is a sample.
    armed: Cell<bool>,
    /// The state of this thread's random number generator (xorshift64*); 0 until first used.
    random: Cell<u64>,
    /// Set while this thread takes a sample: an allocation made meanwhile is never sampled.
    sampling: Cell<bool>,
}

thread_local! {
    static THREAD: ThreadBytes = const {
        ThreadBytes {
            remaining: Cell::new(0),
            base: Cell::new(0),
            armed: Cell::new(false),
            random: Cell::new(0),
            sampling: Cell::new(false),
        }
    };
}

/// The mean bytes between allocation samples; 0 while allocation sampling is off.
static RATE: AtomicU64 = AtomicU64::new(0);
/// Whether any thread allocated through a `Profiled` allocator.
static IN_USE: AtomicBool = AtomicBool::new(false);

/// Sets the mean sampling interval (0: off). Threads notice at their next crossing.
/// Async-signal-safe (one atomic store), for `fork`'s child handler too.
pub(crate) fn set_rate(rate: u64) {
    RATE.store(rate, Ordering::Release);
}

/// The mean sampling interval now; 0 when off.
#[inline]
pub(crate) fn rate() -> u64 {
    RATE.load(Ordering::Acquire)
}

/// Whether a `Profiled` allocator is counting this process's allocations: spans then carry the
/// bytes they allocated.
pub(crate) fn in_use() -> bool {
    IN_USE.load(Ordering::Relaxed)
}

/// Says a `Profiled` allocator counts allocations (on each crossing: a store only the first
/// time).
pub(crate) fn mark_in_use() {
    if !IN_USE.load(Ordering::Relaxed) {
        IN_USE.store(true, Ordering::Relaxed);
    }
}

/// Counts `size` bytes allocated on this thread; true if they reached the current interval's
/// end, for [`crossed`] to decide on.
#[inline(always)]
pub(crate) fn consume(size: usize) -> bool {
    THREAD.with(|thread| {
        let remaining = thread.remaining.get().wrapping_sub(size as i64);
        thread.remaining.set(remaining);
        remaining <= 0
    })
}

/// The bytes allocated on this thread so far (wrapping), through [`consume`]: what spans measure
/// their allocations by.
#[inline]
pub(crate) fn thread_allocated() -> u64 {
    THREAD.with(|thread| thread.base.get().wrapping_sub(thread.remaining.get() as u64))
}

/// After [`consume`] returned true: starts the next interval, and says whether the allocation
/// that crossed is a sample, given the mean sampling interval `rate` (0: sampling is off).
///
/// An interval is drawn when sampling is on: exponentially distributed with mean `rate`, so
/// sample points form a Poisson process over the bytes allocated and an allocation of `size`
/// bytes is sampled with probability `1 - exp(-size / rate)` whatever came before it (the
/// process is memoryless, so counting the next interval from the end of the sampled
/// allocation, as Go does, keeps that true). The first crossing after sampling was off ends a
/// recheck, not an interval: the process starts where the recheck ended, within the allocation
/// that crossed, whose bytes past that point are sampled as any others. A new thread's count
/// starts at 0, so its first allocation is all past it.
#[inline(never)]
pub(crate) fn crossed(rate: u64) -> bool {
    THREAD.with(|thread| {
        let past = thread.remaining.get().saturating_neg();
        let sample = rate > 0 && !thread.sampling.get() && (thread.armed.get() || draw(thread, rate) <= past);
        let next = if rate == 0 { RECHECK_BYTES } else { draw(thread, rate) };
        thread.armed.set(rate > 0);
        // Keeps the total (`base - remaining`) unchanged while `remaining` restarts at `next`.
        let allocated = thread.base.get().wrapping_sub(thread.remaining.get() as u64);
        thread.base.set(allocated.wrapping_add(next as u64));
        thread.remaining.set(next);
        sample
    })
}

/// Marks this thread as taking a sample until the guard drops; `None` if it already is (an
/// allocation made by the sampling itself).
pub(crate) fn sampling() -> Option<SamplingGuard> {
    // Lazily: a guard made when the flag was already set would clear it when dropped.
    THREAD.with(|thread| (!thread.sampling.replace(true)).then(|| SamplingGuard))
}

pub(crate) struct SamplingGuard;

impl Drop for SamplingGuard {
    fn drop(&mut self) {
        THREAD.with(|thread| thread.sampling.set(false));
    }
}

/// An exponentially distributed interval with mean `rate` bytes, at least 1 and at most 2^40.
fn draw(thread: &ThreadBytes, rate: u64) -> i64 {
    // 53 random bits, as a uniform value in (0, 1]: never 0, whose logarithm is infinite.
    let uniform = ((next_random(thread) >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let interval = -uniform.ln() * rate as f64;
    interval.clamp(1.0, (1u64 << 40) as f64) as i64
}

/// xorshift64*: fast, no allocation, no lock; its quality is ample for drawing intervals.
fn next_random(thread: &ThreadBytes) -> u64 {
    let mut x = thread.random.get();
    if x == 0 {
        x = seed(thread);
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    thread.random.set(x);
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// A seed different on every thread and every run: this thread's state address, a process-wide
/// counter and the time, mixed (splitmix64's finaliser). Never 0.
fn seed(thread: &ThreadBytes) -> u64 {
    static SEEDS: AtomicU64 = AtomicU64::new(0);
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes the current time into the valid `timespec` given; it
    // neither allocates nor locks (a vDSO call).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let mut z = (thread as *const ThreadBytes as u64)
        ^ SEEDS.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        ^ (now.tv_nsec as u64).rotate_left(32)
        ^ now.tv_sec as u64;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a thread of its own, so the countdown starts fresh and no other allocation
    /// of the test harness interferes.
    fn on_fresh_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        std::thread::spawn(f).join().unwrap()
    }

    #[test]
    fn the_total_counts_every_byte_across_intervals() {
        let total = on_fresh_thread(|| {
            let start = thread_allocated();
            for size in [10usize, 3_000, 70_000, 1, 900_000] {
                if consume(size) {
                    crossed(4096);
                }
            }
            thread_allocated().wrapping_sub(start)
        });
        assert_eq!(total, 10 + 3_000 + 70_000 + 1 + 900_000);
    }

    #[test]
    fn sample_points_are_a_poisson_process_with_the_given_mean() {
        let (samples, bytes) = on_fresh_thread(|| {
            let (rate, size) = (64 * 1024u64, 512usize);
            crossed(rate);
            let mut samples = 0u64;
            let n = 4_000_000u64;
            for _ in 0..n {
                if consume(size) && crossed(rate) {
                    samples += 1;
                }
            }
            (samples, n * size as u64)
        });
        // Each 512-byte allocation is sampled with probability 1 - exp(-512/65536).
        let expected = bytes as f64 / 512.0 * (1.0 - (-512.0f64 / 65536.0).exp());
        let error = (samples as f64 - expected).abs() / expected;
        // About 31,000 samples: three standard deviations are 1.7%.
        assert!(error < 0.03, "{samples} samples, {expected:.0} expected");
    }

    #[test]
    fn a_new_thread_s_first_allocation_is_sampled_as_any_other() {
        let (rate, threads) = (4096u64, 1000);
        let sampled = (0..threads).filter(|_| on_fresh_thread(move || consume(rate as usize) && crossed(rate))).count();
        // Each with probability 1 - exp(-1) = 0.632: five standard deviations are 0.076.
        let fraction = sampled as f64 / threads as f64;
        assert!((fraction - (1.0 - (-1.0f64).exp())).abs() < 0.08, "{sampled} of {threads}");
    }

    #[test]
    fn sampling_off_only_rechecks_and_arming_is_not_a_sample() {
        on_fresh_thread(|| {
            assert!(consume(1), "a fresh thread crosses at once");
            assert!(!crossed(0), "off");
            assert!(!consume((RECHECK_BYTES - 1) as usize));
            assert!(consume(1));
            assert!(!crossed(1), "the first crossing with sampling on arms; no byte of it is past the recheck");
            // With a one-byte mean, counting byte by byte reaches a sample point within a few.
            let reach = || (0..64).any(|_| consume(1));
            assert!(reach() && crossed(1), "a sample");
            let _guard = sampling().unwrap();
            assert!(sampling().is_none(), "re-entered");
            assert!(reach() && !crossed(1), "an allocation made while sampling is not a sample");
        });
    }
}
