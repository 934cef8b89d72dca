//! Exemplars: recordings kept with the sampled span they were made in, so that a point of a
//! histogram or counter leads to a trace, and under the CPU profiler to that trace's profile.
//!
//! Each thread keeps, per series, a reservoir of candidates: one per histogram bucket, one for
//! a sum (OpenTelemetry's aligned-bucket and fixed-size reservoirs). A candidate is chosen
//! uniformly among the interval's recordings (reservoir sampling, Algorithm R, per thread); the
//! collector picks among the threads' candidates in proportion to the recordings each saw, so
//! the merged choice stays uniform. A periodic collection starts a new interval.

use std::cell::Cell as StdCell;
use std::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicU8, Ordering};

use super::meta::ValueKind;
use super::snapshot::{Exemplar, Number};
use crate::clock::{self, Converter};
use crate::id::{SpanId, TraceId};
use crate::span::current;

/// Which recordings may become exemplars (`OTEL_METRICS_EXEMPLAR_FILTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Recordings made in a sampled span (the default).
    TraceBased,
    /// Every recording.
    AlwaysOn,
    /// None.
    AlwaysOff,
}

static FILTER: AtomicU8 = AtomicU8::new(Filter::TraceBased as u8);
/// The current interval; candidates of an older one are ignored. Starts at 1: a zeroed
/// candidate belongs to no interval.
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// Sets the filter for the process.
pub(crate) fn set_filter(filter: Filter) {
    FILTER.store(filter as u8, Ordering::Relaxed);
}

/// One thread's candidates of one series, by bucket.
#[derive(Debug)]
pub(crate) struct Reservoir {
    candidates: Box<[Candidate]>,
}

/// One candidate, written by its thread under a sequence lock, read by the collector.
#[derive(Debug, Default)]
struct Candidate {
    /// Odd while being written.
    seq: AtomicU64,
    epoch: AtomicU64,
    /// Recordings offered in `epoch`.
    seen: AtomicU64,
    value: AtomicU64,
    tick: AtomicU64,
    trace_high: AtomicU64,
    trace_low: AtomicU64,
    /// Zero when the recording was made outside a sampled span (`always_on`).
    span: AtomicU64,
    /// Zero when no profile covers it.
    profile: AtomicU64,
}

thread_local! {
    static RANDOM: StdCell<u64> = const { StdCell::new(0) };
}

/// A uniform draw in `0..bound` from this thread's xorshift generator.
fn below(bound: u64) -> u64 {
    RANDOM.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = crate::id::random_u64() | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x % bound
    })
}

pub(crate) use crate::span::ExemplarIdentity as Identity;

/// Offers a recording of `bits` in `bucket` (of `buckets`) of the series whose cell is `cell`,
/// made in the span current on this thread.
#[inline]
pub(crate) fn offer(reservoir: &AtomicPtr<Reservoir>, bits: u64, bucket: usize, buckets: usize) {
    offer_for(reservoir, bits, bucket, buckets, current::exemplar_identity);
}

/// [`offer`] for a recording that measured the span `identity` gives (`None`: no sampled span),
/// which need not be current: a request's duration is recorded where its span ends. `identity`
/// runs only when the filter may keep the recording.
#[inline]
pub(crate) fn offer_for(
    reservoir: &AtomicPtr<Reservoir>,
    bits: u64,
    bucket: usize,
    buckets: usize,
    identity: impl FnOnce() -> Option<Identity>,
) {
    let filter = FILTER.load(Ordering::Relaxed);
    if filter == Filter::AlwaysOff as u8 {
        return;
    }
    let identity = identity();
    if identity.is_none() && filter == Filter::TraceBased as u8 {
        return;
    }
    keep(reservoir, bits, bucket, buckets, identity);
}

#[cold]
fn keep(reservoir: &AtomicPtr<Reservoir>, bits: u64, bucket: usize, buckets: usize, identity: Option<Identity>) {
    let mut candidates = reservoir.load(Ordering::Relaxed);
    if candidates.is_null() {
        let new = Box::new(Reservoir { candidates: (0..buckets).map(|_| Candidate::default()).collect() });
        candidates = Box::into_raw(new);
        // Release: the collector's acquire load sees the initialised candidates.
        reservoir.store(candidates, Ordering::Release);
    }
    // SAFETY: allocated above or earlier by this thread, freed only with the shard.
    let Some(candidate) = unsafe { &*candidates }.candidates.get(bucket) else { return };
    let epoch = EPOCH.load(Ordering::Relaxed);
    let seen =
        if candidate.epoch.load(Ordering::Relaxed) == epoch { candidate.seen.load(Ordering::Relaxed) + 1 } else { 1 };
    candidate.seen.store(seen, Ordering::Relaxed);
    if seen > 1 && below(seen) != 0 {
        return;
    }
    let seq = candidate.seq.load(Ordering::Relaxed);
    candidate.seq.store(seq + 1, Ordering::Relaxed);
    fence(Ordering::Release);
    candidate.epoch.store(epoch, Ordering::Relaxed);
    candidate.value.store(bits, Ordering::Relaxed);
    candidate.tick.store(clock::now(), Ordering::Relaxed);
    let (trace, span, profile) = match identity {
        Some((trace, span, profile)) => (trace.to_int(), span.to_int(), profile.map_or(0, SpanId::to_int)),
        None => (0, 0, 0),
    };
    candidate.trace_high.store((trace >> 64) as u64, Ordering::Relaxed);
    candidate.trace_low.store(trace as u64, Ordering::Relaxed);
    candidate.span.store(span, Ordering::Relaxed);
    candidate.profile.store(profile, Ordering::Relaxed);
    candidate.seq.store(seq + 2, Ordering::Release);
}

/// Frees a reservoir.
///
/// # Safety
/// The thread that kept it is gone and nothing else reads it.
pub(crate) unsafe fn free(reservoir: &AtomicPtr<Reservoir>) {
    let candidates = reservoir.load(Ordering::Acquire);
    if !candidates.is_null() {
        // SAFETY: from `Box::into_raw` in `keep`, no longer shared.
        drop(unsafe { Box::from_raw(candidates) });
    }
}

/// A candidate read for the current interval, with the number of recordings it stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read {
    pub seen: u64,
    pub exemplar: Exemplar,
}

/// The current interval's candidate of `bucket` in `cell`, if its thread kept one.
pub(crate) fn read(
    reservoir: &AtomicPtr<Reservoir>,
    bucket: usize,
    kind: ValueKind,
    clock: &Converter,
) -> Option<Read> {
    let candidates = reservoir.load(Ordering::Acquire);
    if candidates.is_null() {
        return None;
    }
    // SAFETY: published with release by its thread, freed only with the shard, which the
    // collector (the caller) frees.
    let candidate = unsafe { &*candidates }.candidates.get(bucket)?;
    let epoch = EPOCH.load(Ordering::Relaxed);
    for _ in 0..64 {
        let before = candidate.seq.load(Ordering::Acquire);
        if before % 2 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let fields = [
            candidate.epoch.load(Ordering::Relaxed),
            candidate.seen.load(Ordering::Relaxed),
            candidate.value.load(Ordering::Relaxed),
            candidate.tick.load(Ordering::Relaxed),
            candidate.trace_high.load(Ordering::Relaxed),
            candidate.trace_low.load(Ordering::Relaxed),
            candidate.span.load(Ordering::Relaxed),
            candidate.profile.load(Ordering::Relaxed),
        ];
        fence(Ordering::Acquire);
        if candidate.seq.load(Ordering::Relaxed) != before {
            continue;
        }
        let [candidate_epoch, seen, value, tick, trace_high, trace_low, span, profile] = fields;
        if candidate_epoch != epoch || before == 0 {
            return None;
        }
        let trace = TraceId::from_int(u128::from(trace_high) << 64 | u128::from(trace_low));
        let value = match kind {
            ValueKind::U64 => Number::U64(value),
            ValueKind::I64 => Number::I64(value as i64),
            ValueKind::F64 => Number::F64(f64::from_bits(value)),
        };
        return Some(Read {
            seen,
            exemplar: Exemplar {
                time_unix_nanos: clock.unix_nanos(tick),
                value,
                span: trace.zip(SpanId::from_int(span)),
                profile: SpanId::from_int(profile),
            },
        });
    }
    None
}

/// Picks one of `reads` with probability proportional to the recordings it stands for.
pub(crate) fn merge(reads: &[Read]) -> Option<Exemplar> {
    let total: u64 = reads.iter().map(|read| read.seen).sum();
    if total == 0 {
        return None;
    }
    let mut pick = below(total);
    for read in reads {
        if pick < read.seen {
            return Some(read.exemplar);
        }
        pick -= read.seen;
    }
    None
}

/// Starts a new interval: candidates kept so far are no longer read.
pub(crate) fn next_interval() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}
