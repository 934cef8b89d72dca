//! The clock: raw ticks on the hot path, Unix nanoseconds on the reporter thread.
//!
//! A span records two raw ticks. On x86-64 Linux, when the kernel itself uses the TSC as its
//! clocksource (so it is invariant and synchronised across cores), a tick is one `rdtsc`;
//! elsewhere it is `Instant` nanoseconds since start-up. Ticks become Unix nanoseconds once per
//! segment on the reporter thread, against an anchor taken at `init`; the TSC rate is measured
//! against `Instant` over the whole time since that anchor, so it gets more exact as the process
//! runs. The clock must never be read before [`start`] (spans are no-ops until `init`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static USE_TSC: AtomicBool = AtomicBool::new(false);
static ANCHOR: OnceLock<Anchor> = OnceLock::new();

/// The moment the clock started: the same instant seen by each clock.
#[derive(Debug)]
struct Anchor {
    instant: Instant,
    unix_nanos: u64,
    tsc: u64,
}

/// Starts the clock. Idempotent; the first call fixes the anchor for the life of the process.
pub(crate) fn start() {
    ANCHOR.get_or_init(|| {
        let tsc = tsc_is_reliable();
        let anchor = Anchor {
            instant: Instant::now(),
            unix_nanos: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
            tsc: if tsc { read_tsc() } else { 0 },
        };
        USE_TSC.store(tsc, Ordering::Relaxed);
        anchor
    });
}

/// A raw timestamp. Cheap: one `rdtsc`, or one vDSO clock read. Never zero.
#[inline]
pub(crate) fn now() -> u64 {
    if USE_TSC.load(Ordering::Relaxed) {
        read_tsc()
    } else {
        instant_ticks()
    }
}

#[cold]
fn instant_ticks() -> u64 {
    match ANCHOR.get() {
        // `+ 1` keeps ticks non-zero: zero marks a span that has not ended.
        Some(anchor) => anchor.instant.elapsed().as_nanos() as u64 + 1,
        None => 1,
    }
}

/// The tick rate last estimated by [`Converter::current`] (`f64` bits); zero before the first.
static NANOS_PER_TICK: AtomicU64 = AtomicU64::new(0);

/// Seconds between two raw ticks, at the rate last estimated (each export batch estimates it
/// again): for durations measured on hot paths, which cannot afford a clock read to estimate.
#[inline]
pub(crate) fn seconds_between(start: u64, end: u64) -> f64 {
    let nanos_per_tick = match NANOS_PER_TICK.load(Ordering::Relaxed) {
        0 => Converter::current().nanos_per_tick,
        bits => f64::from_bits(bits),
    };
    end.saturating_sub(start) as f64 * nanos_per_tick * 1e-9
}

/// Converts raw ticks to Unix nanoseconds. Made once per export batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Converter {
    origin_ticks: u64,
    origin_unix_nanos: u64,
    nanos_per_tick: f64,
}

impl Converter {
    /// A converter with the best rate estimate available now.
    pub(crate) fn current() -> Self {
        let Some(anchor) = ANCHOR.get() else {
            return Self { origin_ticks: 0, origin_unix_nanos: 0, nanos_per_tick: 1.0 };
        };
        if !USE_TSC.load(Ordering::Relaxed) {
            return Self { origin_ticks: 1, origin_unix_nanos: anchor.unix_nanos, nanos_per_tick: 1.0 };
        }
        let elapsed = anchor.instant.elapsed().as_nanos() as f64;
        let ticks = read_tsc().wrapping_sub(anchor.tsc) as f64;
        let nanos_per_tick = if ticks > 0.0 && elapsed > 0.0 { elapsed / ticks } else { 1.0 };
        NANOS_PER_TICK.store(nanos_per_tick.to_bits(), Ordering::Relaxed);
        Self { origin_ticks: anchor.tsc, origin_unix_nanos: anchor.unix_nanos, nanos_per_tick }
    }

    /// Unix nanoseconds of a raw tick.
    pub(crate) fn unix_nanos(&self, ticks: u64) -> u64 {
        let delta = ticks.wrapping_sub(self.origin_ticks) as i64 as f64 * self.nanos_per_tick;
        (self.origin_unix_nanos as f64 + delta) as u64
    }

    /// Nanoseconds between two raw ticks.
    pub(crate) fn duration_nanos(&self, start: u64, end: u64) -> u64 {
        (end.saturating_sub(start) as f64 * self.nanos_per_tick) as u64
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` is available on every x86-64 CPU and has no preconditions.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn read_tsc() -> u64 {
    instant_ticks()
}

/// The TSC is used only when the kernel trusts it as its own clocksource: then it is invariant
/// and synchronised between cores, which the kernel verified at boot.
fn tsc_is_reliable() -> bool {
    cfg!(all(target_arch = "x86_64", target_os = "linux"))
        && std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|source| source.trim() == "tsc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_to_wall_clock_time() {
        start();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        let t0 = now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let t1 = now();
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        let conv = Converter::current();
        let (u0, u1) = (conv.unix_nanos(t0), conv.unix_nanos(t1));
        // Wall clock and monotonic clock may disagree by NTP slew; allow 5 ms either side.
        assert!(u0 + 5_000_000 >= before && u1 <= after + 5_000_000, "{before} {u0} {u1} {after}");
        let d = conv.duration_nanos(t0, t1);
        assert!((19_000_000..200_000_000).contains(&d), "20 ms sleep measured as {d} ns");
    }
}
