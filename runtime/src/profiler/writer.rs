//! The profile writer thread: turns each finished window into pprof profiles (symbolisation,
//! encoding) and hands them to the sinks, apart from the collector, so that draining the sample
//! rings never waits for it: a window's symbolisation can take a good part of a second (the
//! first one reads the objects' debug information), in which a program allocating fast would
//! fill the allocation ring many times over.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::aggregate::Window;
use super::alloc::aggregate::Amounts;
use super::modules::Module;
use super::pprof::{self, Measure};
use super::sink::{Finished, ProfileKind, ProfileSink, ProfileWindow};
use super::symbolize::Symbolizer;
use crate::proto::perftools::profiles::Profile;

/// What the collector sends the writer.
pub(crate) enum Job {
    /// The loaded modules changed: symbols of the windows to come are resolved against these.
    Modules(Vec<Module>),
    /// A finished window (boxed: the other variant is small).
    Window(Box<FinishedWindow>),
}

/// A finished window: its CPU counts and, when allocations are sampled, its estimates.
pub(crate) struct FinishedWindow {
    pub cpu: Window<u64>,
    pub allocations: Option<Window<Amounts>>,
    pub end: SystemTime,
}

/// The collector's end of the queue to the writer, which knows whether a window is still being
/// written.
pub(crate) struct WriterQueue {
    jobs: Sender<Job>,
    windows: Arc<AtomicUsize>,
}

impl WriterQueue {
    /// Sends `job`; a writer that is gone (it panicked) takes nothing more.
    pub(crate) fn send(&self, job: Job) {
        if matches!(job, Job::Window(_)) {
            self.windows.fetch_add(1, Ordering::AcqRel);
        }
        let _ = self.jobs.send(job);
    }

    /// Whether a window sent is not written yet.
    pub(crate) fn busy(&self) -> bool {
        self.windows.load(Ordering::Acquire) > 0
    }
}

/// The writer's end of the queue.
pub(crate) struct Inbox {
    jobs: Receiver<Job>,
    windows: Arc<AtomicUsize>,
}

/// The queue from the collector to the writer.
pub(crate) fn queue() -> (WriterQueue, Inbox) {
    let (jobs, to_write) = mpsc::channel();
    let windows = Arc::new(AtomicUsize::new(0));
    (WriterQueue { jobs, windows: windows.clone() }, Inbox { jobs: to_write, windows })
}

pub(crate) struct Writer {
    pub symbols: Symbolizer,
    pub sinks: Vec<Box<dyn ProfileSink>>,
    pub inbox: Inbox,
    /// CPU time between two CPU samples, and mean bytes between two allocation samples: fixed
    /// for the run.
    pub period: Duration,
    pub alloc_rate: u64,
}

impl Writer {
    /// Writes every window sent until the collector hangs up, then shuts the sinks down.
    pub(crate) fn run(mut self) {
        while let Ok(job) = self.inbox.jobs.recv() {
            match job {
                Job::Modules(modules) => self.symbols.set_modules(modules),
                Job::Window(window) => {
                    let FinishedWindow { cpu, allocations, end } = *window;
                    let period = self.period;
                    if !cpu.is_empty() {
                        let nanos = period.as_nanos() as i64;
                        let profile =
                            pprof::build(&cpu, end, Measure::cpu(period), |&n| vec![n as i64 * nanos], &mut self.symbols);
                        self.export(ProfileKind::Cpu, profile, cpu.start, end);
                    }
                    if let Some(window) = allocations {
                        let measure = Measure::allocations(self.alloc_rate);
                        let profile = pprof::build(&window, end, measure, Amounts::values, &mut self.symbols);
                        self.export(ProfileKind::Allocations, profile, window.start, end);
                    }
                    self.inbox.windows.fetch_sub(1, Ordering::AcqRel);
                }
            }
        }
        for sink in &mut self.sinks {
            sink.shutdown();
        }
    }

    fn export(&mut self, kind: ProfileKind, profile: Profile, start: SystemTime, end: SystemTime) {
        let encoded = ProfileWindow { kind, gzipped: pprof::gzipped(&profile).into(), start, end };
        let finished = Finished { profile, window: Arc::new(encoded) };
        for sink in &mut self.sinks {
            sink.export(&finished);
        }
    }
}
