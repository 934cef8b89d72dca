//! The continuous CPU profiler: every sample carries the `#[profiled]` tags and the span it was
//! taken in.
//!
//! `#[profiled(route = "checkout")]` pushes its tags on the calling thread's tag state
//! (`tag_state`) for the duration of the body (sync) or of each poll (async), so a CPU
//! sample taken at any instant can read exactly the tags in force there. The state is a fixed
//! array of plain words written by the owning thread only, which is what makes it readable
//! from a signal handler on that thread.
//!
//! The sampler (Linux x86-64; on other platforms the profiler is compiled out and
//! [`crate::init`] starts no sampler):
//! - `timer`: a CPU-time timer per thread sends SIGPROF to its thread per `1/hz` of its CPU;
//! - `signal`: the handler copies the thread's tags (`tag_state`) and span identity
//!   (`span_identity`) and walks the stack (`unwinder`, DWARF CFI via framehop, with
//!   validated stack reads from `stack_reader`) into a pre-allocated `ring` slot;
//! - `collector`: a background thread drains the ring into per-window counts (`aggregate`);
//! - `writer`: another resolves each window's addresses (`symbolize`, over `modules` and their
//!   `symbol_table`s), encodes `pprof` and hands the profiles to the sinks `init` gave it
//!   (`sink`): the profile exporters of `export::profiles`, which the profiler never names.
//!
//! `alloc`: the allocation sampler, a global allocator wrapper whose samples carry the same tags
//! and span identity, drained by the same collector into allocation profiles.
//!
//! Nothing here runs on an application thread except the tag pushes, the signal handler and the
//! allocator hook.

macro_rules! sampler_modules {
    ($($module:ident),* $(,)?) => {$(
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        pub(crate) mod $module;
    )*};
}

sampler_modules!(
    aggregate,
    collector,
    modules,
    pprof,
    ring,
    signal,
    span_identity,
    stack_reader,
    symbolize,
    timer,
    unwinder,
    writer,
);

pub mod alloc;
/// The pprof and Pyroscope messages, public but hidden: the integration tests decode what the
/// runtime wrote with the same definitions.
#[doc(hidden)]
pub mod proto {
    pub use crate::proto::{perftools, push, types};
}
pub(crate) mod sink;
pub(crate) mod tag_state;
pub(crate) mod with_tags;

pub(crate) use crate::config::profiler::ProfilerSettings;
pub use crate::config::profiler::{ProfilerConfig, ProfilesExporter, PyroscopeApi};
pub use tag_state::current_tags;

/// Whether CPU samples are being taken now.
pub fn is_running() -> bool {
    crate::state::profiling()
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) use lifecycle::{start, Profiler};

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub(crate) use unsupported::{start, Profiler};

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod lifecycle {
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    use std::sync::OnceLock;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant, SystemTime};

    use std::sync::atomic::Ordering;

    use super::alloc::aggregate::Heap;
    use super::alloc::sampler::{self, AllocSample};
    use super::collector::{Allocations, Collector};
    use super::ring::{Ring, Sample};
    use super::sink::ProfileSink;
    use super::writer::{self, Writer};
    use super::{modules, signal, stack_reader, symbolize, timer, unwinder, ProfilerSettings};
    use crate::error::InitError;

    /// A started sampler; [`Profiler::stop`] stops it and writes the last profile.
    #[derive(Debug)]
    pub(crate) struct Profiler {
        stop: mpsc::Sender<()>,
        collector: JoinHandle<()>,
        writer: JoinHandle<()>,
    }

    /// Starts the sampler and its collector, unless the settings turn it off. Each window goes
    /// to every one of `sinks`.
    pub(crate) fn start(
        profiler: &ProfilerSettings,
        sinks: Vec<Box<dyn ProfileSink>>,
    ) -> Result<Option<Profiler>, InitError> {
        if !profiler.enabled {
            return Ok(None);
        }
        // The ring has one reader: a collector that outlived its stop's deadline still reads it.
        if COLLECTOR_ALIVE.load(Ordering::Acquire) {
            stderr_line!("spanscope: the previous CPU profiler has not finished; profiling stays off for this run");
            return Ok(None);
        }
        let io = |what: &'static str| move |error| InitError::Io { path: what.into(), error };
        // Everything the signal handler touches exists before the first signal.
        static RING: OnceLock<&'static Ring<Sample>> = OnceLock::new();
        let ring = *RING.get_or_init(|| Box::leak(Box::new(Ring::new(Sample::EMPTY))));
        stack_reader::prepare().map_err(io("the profiler's probe pipe"))?;
        let (modules, generation) = modules::loaded();
        unwinder::Snapshot::build(&modules).publish();
        signal::install(ring).map_err(io("the SIGPROF handler"))?;
        // Samples a previous run left behind belong to no window of this one.
        ring.drain(|_| {});

        let period = Duration::from_nanos(1_000_000_000 / u64::from(profiler.hz));
        let (interval, start) = (profiler.interval, SystemTime::now());
        // Every thread running now is sampled from here on; later ones from the collector's
        // first pass after they start.
        let mut timers = timer::ThreadTimers::new(period);
        signal::set_enabled(true);
        if let Err(error) = timers.sync() {
            signal::set_enabled(false);
            return Err(InitError::Io { path: "/proc/self/task".into(), error });
        }
        let allocations = (profiler.alloc_sample_bytes > 0).then(|| {
            static ALLOC_RING: OnceLock<&'static Ring<AllocSample>> = OnceLock::new();
            let ring = *ALLOC_RING.get_or_init(|| Box::leak(Box::new(Ring::new(AllocSample::EMPTY))));
            ring.drain(|_| {});
            sampler::set(ring, profiler.alloc_sample_bytes);
            Allocations { ring, heap: Heap::new(start) }
        });
        let (stop, stopped) = mpsc::channel();
        let alloc_rate = profiler.alloc_sample_bytes;
        let (queue, inbox) = writer::queue();
        let writer = crate::sys::threads::spawn("spanscope-profile-writer", move || {
            // Built here: the symboliser's caches are thread-local by design (`Rc`).
            let symbols = symbolize::Symbolizer::new(modules);
            Writer { symbols, sinks, inbox, period, alloc_rate }.run();
        });
        let writer = writer.map_err(|error| {
            sampler::stop();
            signal::set_enabled(false);
            io("the spanscope-profile-writer thread")(error)
        })?;
        COLLECTOR_ALIVE.store(true, Ordering::Release);
        let collector = crate::sys::threads::spawn("spanscope-profiler", move || {
            let _alive = CollectorAlive;
            sampler::wake_me();
            let window = super::aggregate::Window::new(start);
            Collector { ring, window, allocations, writer: queue, generation, period, interval, timers }.run(stopped);
        })
        .map_err(|error| {
            sampler::stop();
            signal::set_enabled(false);
            COLLECTOR_ALIVE.store(false, Ordering::Release);
            io("the spanscope-profiler thread")(error)
        })?;
        crate::state::set_profiling(true);
        Ok(Some(Profiler { stop, collector, writer }))
    }

    /// Whether a collector thread is running (it clears this as it ends, panics included).
    static COLLECTOR_ALIVE: AtomicBool = AtomicBool::new(false);

    struct CollectorAlive;

    impl Drop for CollectorAlive {
        fn drop(&mut self) {
            COLLECTOR_ALIVE.store(false, Ordering::Release);
        }
    }

    impl Profiler {
        /// Stops sampling and hands the last window's profiles to the exporters, waiting until `deadline`
        /// at most (the export reporter's own shutdown then delivers it). The SIGPROF handler
        /// stays installed, ignoring any signal still in flight.
        pub(crate) fn stop(self, deadline: Instant) {
            // The collector deletes the timers; a signal in flight until then is ignored. An
            // allocation sample taken until the collector's last pass is in its last window.
            signal::set_enabled(false);
            sampler::stop();
            crate::state::set_profiling(false);
            if self.stop.send(()).is_ok() {
                self.collector.thread().unpark();
            }
            // The collector hands over the last window and ends; the writer writes it and ends.
            for thread in [&self.collector, &self.writer] {
                while !thread.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            if self.collector.is_finished() && self.writer.is_finished() {
                let _ = self.collector.join();
                let _ = self.writer.join();
            } else {
                stderr_line!("spanscope: the last profiles were not written by the shutdown deadline");
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod unsupported {
    use super::sink::ProfileSink;
    use super::ProfilerSettings;
    use crate::error::InitError;

    /// Never constructed: there is no sampler on this platform.
    #[derive(Debug)]
    pub(crate) enum Profiler {}

    /// The sampler exists on Linux x86-64 only; elsewhere profiling is off.
    pub(crate) fn start(
        _profiler: &ProfilerSettings,
        _sinks: Vec<Box<dyn ProfileSink>>,
    ) -> Result<Option<Profiler>, InitError> {
        Ok(None)
    }

    impl Profiler {
        pub(crate) fn stop(self, _deadline: std::time::Instant) {
            match self {}
        }
    }
}
