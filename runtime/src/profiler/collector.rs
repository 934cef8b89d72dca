//! The collector thread: drains the sample rings (CPU, and allocations when they are sampled)
//! every 50 to 250 ms into the current window, and at each window boundary (aligned to the wall
//! clock) and at stop hands the window to the writer thread (`writer`), which makes its pprof
//! profiles. It also keeps the unwinder's module list current when libraries are loaded.
//!
//! Everything slow the profiler does (aggregation here; symbolisation, encoding and output in
//! the writer) happens off the application's threads.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::aggregate::Window;
use super::alloc::aggregate::Heap;
use super::alloc::sampler::{self, AllocSample};
use super::modules;
use super::ring::{Ring, Sample, SLOTS};
use super::timer::ThreadTimers;
use super::unwinder::Snapshot;
use super::writer::{FinishedWindow, Job, WriterQueue};
use crate::stats::{self, Counter};

/// The shortest time between two passes (drain the ring, find new threads): the ring's bound
/// for processes with many threads.
const PASS_MIN: Duration = Duration::from_millis(50);
/// The longest time between two passes: how late a new thread gets its timer. Each pass is a
/// wake-up and a listing of `/proc/self/task`, which at 20 a second cost an idle process
/// 0.3% of a core.
const PASS_MAX: Duration = Duration::from_millis(250);

pub(crate) struct Collector {
    pub ring: &'static Ring<Sample>,
    pub window: Window<u64>,
    /// Allocation sampling, when it is on.
    pub allocations: Option<Allocations>,
    /// Where finished windows and module changes go.
    pub writer: WriterQueue,
    pub generation: u64,
    /// CPU time between samples.
    pub period: Duration,
    pub interval: Duration,
    /// The per-thread sampling timers, kept in step with the process's threads.
    pub timers: ThreadTimers,
}

/// The allocation samples' ring, and what they add up to.
pub(crate) struct Allocations {
    pub ring: &'static Ring<AllocSample>,
    pub heap: Heap,
}

impl Collector {
    /// Runs until a stop request arrives or the sender is dropped.
    pub(crate) fn run(mut self, stop: Receiver<()>) {
        let mut boundary = next_boundary(SystemTime::now(), self.interval);
        let mut busy = false;
        loop {
            // Allocation samples come as fast as the program allocates: after a pass that found
            // the ring a quarter full, the next comes as soon as passes may (the sampler also
            // wakes the collector as the ring fills).
            let every = if busy { PASS_MIN } else { pass_every(self.period, self.timers.len()) };
            let wait = every.min(boundary.duration_since(SystemTime::now()).unwrap_or_default());
            // Woken early by a stop request or by the allocation sampler (see `sampler`).
            std::thread::park_timeout(wait);
            let stopping = match stop.try_recv() {
                Ok(()) | Err(TryRecvError::Disconnected) => true,
                Err(TryRecvError::Empty) => false,
            };
            if stopping {
                // Stop sampling before the last window closes.
                self.timers = ThreadTimers::new(self.period);
            } else {
                // A thread that vanished mid-listing is simply seen at the next pass.
                let _ = self.timers.sync();
            }
            self.refresh_modules();
            busy = self.drain() > SLOTS / 4;
            let now = SystemTime::now();
            if stopping {
                // The writer writes this last window, then ends as the sender drops.
                self.finish_window(now);
                return;
            }
            // While the writer is still busy with the previous window, this one stays open and
            // goes on counting (as long as it takes: nothing is dropped, and the queue holds one
            // window at most); it then ends now, off the boundary.
            if now >= boundary && !self.writer.busy() {
                let late = now.duration_since(boundary).unwrap_or_default() > self.interval / 2;
                self.finish_window(if late { now } else { boundary });
                boundary = next_boundary(now, self.interval);
            }
        }
    }

    /// Drains both rings into the window; returns how many allocation samples there were.
    fn drain(&mut self) -> usize {
        let window = &mut self.window;
        self.ring.drain(|sample| window.add(sample, sample.weight));
        let Some(allocations) = &mut self.allocations else { return 0 };
        let mut drained = 0;
        sampler::drained();
        allocations.ring.drain(|sample| {
            allocations.heap.add(sample);
            drained += 1;
        });
        stats::add(Counter::AllocSamples, drained as u64);
        drained
    }

    /// Rebuilds the unwinder and the symboliser's module list when libraries came or went.
    fn refresh_modules(&mut self) {
        if modules::generation() == self.generation {
            return;
        }
        let (modules, generation) = modules::loaded();
        Snapshot::build(&modules).publish();
        // Symbols of the window so far are resolved against the new list: a library unloaded
        // mid-window loses its names, one loaded gains them.
        self.writer.send(Job::Modules(modules));
        self.generation = generation;
    }

    /// Ends the current window at `end`: hands it to the writer, and starts the next window.
    fn finish_window(&mut self, end: SystemTime) {
        let cpu = std::mem::replace(&mut self.window, Window::new(end));
        stats::add(Counter::ProfileSamples, cpu.samples());
        let allocations = self.allocations.as_mut().and_then(|a| a.heap.finish(end));
        self.writer.send(Job::Window(Box::new(FinishedWindow { cpu, allocations, end })));
    }
}

/// The time between two passes: the ring must hold what `threads` threads, all busy, sample in
/// that time with room to spare (half of it), within [`PASS_MIN`, `PASS_MAX`].
fn pass_every(period: Duration, threads: usize) -> Duration {
    let half_ring = period.saturating_mul(SLOTS as u32 / 2);
    (half_ring / u32::try_from(threads.max(1)).unwrap_or(u32::MAX)).clamp(PASS_MIN, PASS_MAX)
}

/// The first multiple of `interval` since the Unix epoch after `now`.
fn next_boundary(now: SystemTime, interval: Duration) -> SystemTime {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let step = interval.as_nanos().max(1);
    let next = (since / step + 1) * step;
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(next).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_the_wall_clock() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_003_250);
        assert_eq!(next_boundary(t, Duration::from_secs(10)), UNIX_EPOCH + Duration::from_secs(1_700_000_010));
        assert_eq!(next_boundary(t, Duration::from_secs(1)), UNIX_EPOCH + Duration::from_secs(1_700_000_004));
    }

    #[test]
    fn passes_come_often_enough_that_busy_threads_fill_half_the_ring_at_most() {
        let at_100_hz = Duration::from_millis(10);
        let ms = |threads| pass_every(at_100_hz, threads).as_millis();
        assert_eq!([ms(0), ms(1), ms(8), ms(16), ms(32), ms(64), ms(10_000)], [250, 250, 250, 160, 80, 50, 50]);
        for threads in 1..=51 {
            // Samples all of them take between two passes, at one per period each.
            let samples = pass_every(at_100_hz, threads).as_nanos() * threads as u128 / at_100_hz.as_nanos();
            assert!(samples <= SLOTS as u128 / 2, "{threads} threads: {samples}");
        }
        assert_eq!(pass_every(Duration::from_millis(1), 4).as_millis(), 64, "1000 Hz");
    }
}
